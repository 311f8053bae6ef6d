"""Built-in teleconsult plugins, each registered through the ``teleconsult.plugins`` entry points."""
