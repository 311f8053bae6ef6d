"""Hook specifications of teleconsult.

A plugin is any object (usually a module) with functions named like these hooks and
decorated with ``core.markers.hookimpl``. It is registered through the entry-point group
``teleconsult.plugins``; the built-in plugins are registered exactly the same way.

Registration hooks (``teleconsult_register_*``) *return* things and the core registers
them; a plugin never reaches into the app by itself. Lifecycle hooks are events fired
inside the transaction that made the change, so whatever a plugin writes is committed
or rolled back together with it; work that must only happen after a commit (sending an
e-mail, emitting a Socket.IO event) goes through ``core.tx.after_commit``. Hooks about
a consultation call only the plugins switched on for the consultation's organisation
(``core.plugins.hooks_for``).

A plugin may declare hooks of its own for other plugins to implement
(``teleconsult_register_hookspecs``); they are listed after the core's, under their plugin.
A plugin that implements another plugin's hook marks it ``@hookimpl(optionalhook=True)``,
so that it still loads while that plugin is disabled.

Hooks are named by one rule: ``teleconsult_register_<thing>`` for a hook that returns
things, ``teleconsult_<noun>_<verb>`` for an event or a check (``teleconsult_consultation_created``,
``teleconsult_config_check``). A hook that stops at the first non-None result says so.

Renamed hooks (the old names still work for one release: an implementation under the
old name is called as the new hook, and a call through ``core.plugins.hooks`` or
``hooks_for`` by the old name reaches the new one; both warn with
``TeleconsultDeprecationWarning``):

- ``teleconsult_consultation_completion_methods`` → ``teleconsult_register_completion_methods``
- ``teleconsult_consultation_actions`` → ``teleconsult_register_consultation_actions``
- ``teleconsult_consultation_badges`` → ``teleconsult_register_consultation_badges``
- ``teleconsult_consultation_link`` → ``teleconsult_register_consultation_link``
- ``teleconsult_consultation_list_scripts`` → ``teleconsult_register_list_scripts``
- ``teleconsult_add_hookspecs`` → ``teleconsult_register_hookspecs``
- ``teleconsult_config_defaults`` → ``teleconsult_register_config_defaults``
- ``teleconsult_logout_url`` → ``teleconsult_register_logout_url``
- ``teleconsult_consultation_notice`` → ``teleconsult_consultation_notified``
- ``teleconsult_page_scripts`` → ``teleconsult_register_page_scripts``
- ``teleconsult_wards_find`` → ``teleconsult_register_wards``
- ``teleconsult_patient_record_extend`` → ``teleconsult_register_patient_record_fields``
- ``teleconsult_template_blocks`` → ``teleconsult_register_template_blocks``

Run ``teleconsult hooks`` to print this reference; docs/hooks.md is generated from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.markers import hookspec

if TYPE_CHECKING:
    from types import ModuleType

    import click
    from flask import Blueprint, Flask
    from flask_admin import BaseView
    from flask_socketio import Namespace

    from admin.figures import DashboardScope, Figure

    from core.access import Principal, Rule
    from core.audit import AuditTitles
    from core.plugins import TeleconsultPluginManager
    from core.lifecycle import CompletionMethod
    from core.menus import MenuItem
    from core.models import Consultation, Participant, Patient, Slot
    from core.outcomes import OutcomeSpec
    from core.routespec import RouteSpec
    from core.tasks import TaskSpec
    from core.wizard_steps import WizardStep




class TeleconsultDeprecationWarning(DeprecationWarning):
    """A plugin uses something of the core that goes away in the next release."""


#: old hook name -> new name; an implementation under the old name is registered as the
#: new hook (``core.plugins.TeleconsultPluginManager.parse_hookimpl_opts``) and warns.
RENAMED_HOOKS = {
    "teleconsult_consultation_completion_methods": "teleconsult_register_completion_methods",
    "teleconsult_consultation_actions": "teleconsult_register_consultation_actions",
    "teleconsult_consultation_badges": "teleconsult_register_consultation_badges",
    "teleconsult_consultation_link": "teleconsult_register_consultation_link",
    "teleconsult_consultation_list_scripts": "teleconsult_register_list_scripts",
    "teleconsult_add_hookspecs": "teleconsult_register_hookspecs",
    "teleconsult_config_defaults": "teleconsult_register_config_defaults",
    "teleconsult_logout_url": "teleconsult_register_logout_url",
    "teleconsult_consultation_notice": "teleconsult_consultation_notified",
    "teleconsult_page_scripts": "teleconsult_register_page_scripts",
    "teleconsult_wards_find": "teleconsult_register_wards",
    "teleconsult_patient_record_extend": "teleconsult_register_patient_record_fields",
    "teleconsult_template_blocks": "teleconsult_register_template_blocks",
}


# --------------------------------------------------------------------------- setup


@hookspec(historic=True)
def teleconsult_register_hookspecs(pluginmanager: TeleconsultPluginManager) -> list[ModuleType]:
    """The plugin's own hook specifications (as pytest's ``pytest_addhooks``). Formerly
    ``teleconsult_add_hookspecs``.

    :param pluginmanager: the manager; only an implementation under the old name uses
        it (it called ``pluginmanager.add_hookspecs(module)`` itself). A new one leaves
        it out of its parameters.
    :returns: modules of functions decorated with ``core.markers.hookspec``; a module's
        ``RENAMED_HOOKS`` (old name -> new) keeps its renamed hooks working for a release.

    Fires for each plugin as it is registered, before the core checks that every
    implemented hook has a specification, so the plugins registered after it may
    implement the new hooks. The hook reference lists them under the plugin.
    """


@hookspec
def teleconsult_register_config_defaults() -> dict[str, Any]:
    """Default settings of the plugin. Formerly ``teleconsult_config_defaults``.

    :returns: a mapping of UPPERCASE keys. They sit between ``config.defaults`` and the
        environment module, so a deployment overrides them with ``TELECONSULT_<KEY>``.

    Fires once, while the app is being built, before anything else.
    """


@hookspec
def teleconsult_config_check(settings: dict[str, Any]) -> list[str]:
    """Problems with the final settings that must stop a production start.

    ``settings``: the loaded settings. Returns a list of human-readable problems (empty
    when all is well). Only production refuses to start on them; fires once per app.
    """


@hookspec
def teleconsult_register_blueprints(app: Flask) -> list[Blueprint]:
    """Flask blueprints of the plugin.

    ``app`` is given for reading settings only. The core registers each blueprint and
    answers 404 for its pages while the operator has the plugin switched off.
    """


@hookspec
def teleconsult_register_api_blueprints(app: Flask) -> list[Blueprint]:
    """Flask blueprints of the plugin's REST API endpoints, served under ``/api/v1``.

    ``app`` is given for reading settings only. The core registers each as part of the
    API: its views authenticate by bearer token, answer errors as JSON, are named
    ``api.<blueprint>.<view>`` and must carry ``core.api.base.operation`` so that the
    OpenAPI document describes them. They answer 404 while the plugin is switched off.
    """


@hookspec
def teleconsult_register_admin_views() -> list[BaseView]:
    """Flask-Admin views of the plugin, in an admin category named after the plugin.

    Return new view instances on every call (one console per app). The console adds
    them under the view's ``category`` (the plugin's name when the view sets none);
    only operators reach them (``admin.use``), and they are hidden and answer 404
    while the plugin is switched off. Deriving from ``admin.base.ConsoleModelView``
    gives audit of every change, local time and the console's Russian labels.
    """


@hookspec
def teleconsult_register_socketio_namespaces() -> list[Namespace]:
    """Flask-SocketIO ``Namespace`` instances of the plugin (e.g. ``/chat``).

    Every event handler must authorise through ``core.access``; the core refuses events
    of a switched-off plugin.
    """


@hookspec
def teleconsult_register_tasks() -> list[TaskSpec]:
    """Background tasks of the plugin, as ``core.tasks.TaskSpec`` (name, function, options).

    Names are ``<plugin>.<task>``. The core runs them in-process after commit (embedded
    default) or as Celery tasks on a worker (production). A task must be idempotent.
    Tasks run while the plugin is on for the deployment or for any organisation; a task
    checks the organisation of its data with ``core.plugins.is_enabled(name,
    organisation_id=...)``.
    """


@hookspec
def teleconsult_register_migrations() -> list[str]:
    """Folders with Alembic revisions of the plugin's own branch (labelled with its name).

    The first revision of the branch depends on the core branch. ``teleconsult db
    upgrade`` upgrades every branch to its head.
    """


@hookspec
def teleconsult_register_menu_items(area: str) -> list[MenuItem]:
    """Menu items the plugin adds.

    ``area`` is ``"workplace"`` (the doctor's main menu, SPEC D2) or ``"portal"`` (the
    patient's left menu, SPEC P2). Items whose endpoint is not registered or whose roles
    the viewer lacks are not shown.
    """


@hookspec
def teleconsult_register_cli_commands() -> list[click.Command]:
    """Click commands added to the ``teleconsult`` command line."""


@hookspec
def teleconsult_register_companion_processes(settings: dict[str, Any]) -> list[list[str]]:
    """Processes the embedded default starts beside its web server.

    :param settings: the app's settings (the plugin decides from them whether it needs one).
    :returns: command lines (``[executable, argument, ...]``); ``teleconsult run`` starts
      each as a child process before it serves and stops it (SIGTERM) when it ends. A
      production deployment runs them as services of their own (``deploy/systemd``).
      The video plugin's echo test (an aiortc server peer, which must not share the web
      process) is one.
    """


@hookspec
def teleconsult_register_access_rules() -> dict[str, Rule]:
    """Access rules for actions the plugin defines, keyed by action (``"chat.write"``).

    A rule is ``rule(principal, obj) -> bool``. ``core.access`` is the only place that
    evaluates rules; a plugin defines a rule once and every view, API endpoint and
    Socket.IO event of it calls ``core.access.require``.
    """


@hookspec
def teleconsult_register_audit_titles() -> AuditTitles:
    """Russian titles of the audit actions and object types the plugin records.

    Returns a ``core.audit.AuditTitles``: ``actions`` maps an action code
    (``"chat.message_deleted"``) to its title, ``objects`` an object type (the table
    name given to ``core.audit.record``) to its title; titles are ``lazy_gettext``
    strings. The console's audit log shows and filters events by these titles (a code
    without one is shown as it is). Called once per app, when the titles are first
    needed; a plugin switched off keeps its titles, its past events stay readable.
    """


@hookspec
def teleconsult_register_dashboard_figures(scope: DashboardScope) -> list[Figure]:
    """Figures of the plugin for the operator's dashboard, the console's start page.

    Each is an ``admin.figures.Figure``: a code (also the name of its CSV), a title,
    column titles (the first column holds the labels: a day, a reason) and rows; the
    page draws it as a chart (Chart.js) and offers the same rows as CSV. Count only what
    lies in ``scope``: the days ``scope.first_day``..``scope.last_day`` (local time;
    ``scope.within(column)`` for a time column, ``scope.per_day(moments, ...)`` for a row
    per day) and, when ``scope.organisation_id`` is set, that organisation alone
    (``scope.of_organisation(column)``). Fired on every view of the page and of a CSV;
    a plugin's figures are shown while it is switched on for the organisation shown
    (for every organisation: switched on anywhere). The video plugin gives its calls and
    their quality, the e-signature plugin the refused signatures.

    :param scope: the period and the organisation (None: every organisation).
    :returns: figures whose codes no other figure uses.
    """


# --------------------------------------------------------------------------- session


@hookspec
def teleconsult_register_login_options(area: str) -> list[MenuItem]:
    """Ways to log in to an area that an identity provider's plugin offers.

    :param area: ``"portal"`` (patients) or ``"workplace"`` (staff).
    :returns: ``core.menus.MenuItem``s: the title of the way (a Russian lazy string), the
        endpoint of its login page and its ``order`` (smaller first).

    Fired when a page of the area answers 401 to a browser, with the plugins switched
    on for the viewer: the browser goes to the first option's page (with ``next``), or
    to the core's own login page when no plugin offers one.
    """


@hookspec(firstresult=True)
def teleconsult_register_logout_url(principal: Principal) -> str | None:
    """Where the browser goes after a local logout; stops at the first non-None result.

    An identity provider plugin answers with its provider's own logout address, so the
    provider forgets its session too and the next login asks again (ESIA does, SPEC P8).
    Fired by ``/logout`` for a confirmed logout while the session still holds what the
    login stored in it; the local session ends whatever the answer. Without an answer a
    patient goes to the portal, staff to the login page. Formerly ``teleconsult_logout_url``.

    :param principal: who logs out.
    :returns: an absolute URL, or None to leave the choice to the next plugin or the core.
    """


# --------------------------------------------------------------------------- consultation


@hookspec
def teleconsult_consultation_validate(consultation: Consultation) -> list[str]:
    """Objections to a consultation about to be created.

    Returns messages in Russian (through Flask-Babel); any message refuses the creation
    and nothing is written. Fires after the route's own schema and validation passed.
    """


@hookspec
def teleconsult_consultation_created(consultation: Consultation, actor: Principal) -> None:
    """A consultation (application) has just been created.

    Fires inside the creating transaction, after the participants are added and flushed,
    so ``consultation.id`` is set. The chat plugin creates the chat here.
    """


@hookspec
def teleconsult_consultation_scheduled(
    consultation: Consultation, slot: Slot, actor: Principal
) -> None:
    """A consultation got its slot in the consultant's schedule (booked or moved)."""


@hookspec
def teleconsult_consultation_started(consultation: Consultation, actor: Principal) -> None:
    """A consultation went from scheduled to in progress (first chat message, call, ...)."""


@hookspec
def teleconsult_consultation_completed(
    consultation: Consultation, outcome: str, actor: Principal
) -> None:
    """A consultation was closed.

    ``outcome`` is one of ``core.models.Outcome``; ``consultation.outcome_reason`` is set
    for ``no_conclusion`` and ``consultation.conclusion_document_id`` for the others.
    The chat turns read-only from this hook.
    """


@hookspec
def teleconsult_register_completion_methods(
    consultation: Consultation, principal: Principal
) -> list[CompletionMethod]:
    """Completion methods offered on the application's right panel (SPEC D9).

    Each ``core.lifecycle.CompletionMethod`` names its title, the endpoint of its form
    and its order. The core offers «Завершение без заключения» itself. Formerly
    ``teleconsult_consultation_completion_methods``.

    :param consultation: the consultation the panel shows.
    :param principal: who looks at it.
    :returns: the plugin's completion methods for this consultation and viewer, or none.
    """


@hookspec
def teleconsult_register_consultation_actions(
    consultation: Consultation, principal: Principal
) -> list[MenuItem]:
    """Links on the application's right panel besides completion (chat, video call, ...).

    Formerly ``teleconsult_consultation_actions``.

    :param consultation: the consultation the panel shows.
    :param principal: who looks at it.
    :returns: ``core.menus.MenuItem`` links, in the order they are shown.
    """


@hookspec
def teleconsult_register_consultation_badges(
    consultations: list[Consultation], principal: Principal
) -> dict[int, int]:
    """Numbers to show beside consultations in lists, ``{consultation id: count}``.

    The chat plugin answers with unread messages (the blue circle of SPEC P3, D7). Lists
    add up the answers of every plugin. ``consultations`` are those of one organisation
    on the page being shown: the hook is asked once per organisation, each time with
    only the plugins switched on for that organisation. Formerly
    ``teleconsult_consultation_badges``.

    :param consultations: the listed consultations of one organisation.
    :param principal: who looks at the list.
    :returns: ``{consultation id: count}``; consultations left out count nothing.
    """


@hookspec(firstresult=True)
def teleconsult_register_consultation_link(consultation: Consultation, principal: Principal) -> str | None:
    """Where a click on a consultation in a list leads (e.g. its chat); stops at the
    first non-None result.

    Without an answer the workplace opens the application card and the portal its own
    card of the consultation. Formerly ``teleconsult_consultation_link``.

    :param consultation: the listed consultation.
    :param principal: who looks at the list.
    :returns: a URL, or None to leave the choice to the next plugin or the core.
    """


@hookspec
def teleconsult_register_list_scripts(area: str, principal: Principal) -> list[str]:
    """Addresses of scripts to load on the pages that list consultations, in order.

    ``area`` is ``"portal"`` («Чат с врачом», SPEC P3) or ``"workplace"`` («Входящие»,
    «Исходящие», «Заявки», SPEC D4). The chat plugin keeps the lists' unread circles and
    grey closed items live with it. The page loads each address once, at the end of the
    body, after the list. What a script may rely on in the markup:

    - the list carries ``data-consultation-list``, ``data-badge-class`` (the class of a
      badge), ``data-badge-label`` (its accessible label, ``{n}`` for the number) and
      ``data-closed-status`` (the status title of a closed consultation);
    - each item carries ``data-consultation="<id>"`` and the class ``closed`` when the
      consultation is closed; in it, a badge (``data-badge``) stands right after the
      element marked ``data-badge-after``, and an element marked ``data-closed-note``
      (hidden while open) and one marked ``data-status`` (the status title) may be present.

    Fired while the page is rendered, once for each organisation among the listed
    consultations with the plugins switched on for it; nothing when the list is empty.
    Formerly ``teleconsult_consultation_list_scripts``.

    :param area: ``"portal"`` or ``"workplace"``.
    :param principal: who looks at the list.
    :returns: script addresses (``url_for("…static", …)``), each loaded once.
    """


@hookspec
def teleconsult_consultation_notified(consultation: Consultation, event: str, text: str) -> None:
    """A plugin tells the consultation's participants of something that happened.

    ``event`` is a code of the telling plugin (``"video_missed"``, ``"video_declined"``,
    ``"video_message"``), ``text`` the Russian sentence to show. The chat plugin stores it
    as a system message of the consultation's chat, so a missed or declined call and the
    messages of a call stay in the chat's history. Fired in the telling transaction;
    whatever an implementation writes commits with it. Formerly
    ``teleconsult_consultation_notice``.

    :param consultation: the consultation told of it.
    :param event: the telling plugin's code of what happened.
    :param text: the Russian sentence to show.
    :returns: nothing.
    """


@hookspec
def teleconsult_register_page_scripts(area: str, principal: Principal) -> list[str]:
    """Addresses of scripts to load on every page of an area, at the end of the body.

    ``area`` is ``"portal"`` or ``"workplace"``. The video plugin shows the popup
    «Врач … вызывает вас» in every open tab of the patient this way (SPEC P5). Fired
    while a page of the area is rendered for an authenticated viewer, with the plugins
    switched on for the viewer; each address is loaded once, in order. Formerly
    ``teleconsult_page_scripts``. Such a script may put another page's content in
    place of the current one without a navigation (the video popup opens the call
    window so): it first dispatches ``teleconsult:page-replaced`` on ``document``, and
    a page's own script then lets go of what it holds (the chat closes its socket).

    :param area: ``"portal"`` or ``"workplace"``.
    :param principal: who looks at the page.
    :returns: script addresses (``url_for("…static", …)``).
    """


# --------------------------------------------------------------------------- participant


@hookspec
def teleconsult_participant_added(consultation: Consultation, participant: Participant) -> None:
    """Someone was added to a consultation (in the adding transaction)."""


@hookspec
def teleconsult_participant_joined(
    consultation: Consultation, participant: Participant, channel: str
) -> None:
    """A participant came online in a channel (``"chat"``, ``"video"``, ...).

    Fired by ``core.presence.joined``, which also stamps ``participant.last_joined_at``.
    """


@hookspec
def teleconsult_participant_left(
    consultation: Consultation, participant: Participant, channel: str
) -> None:
    """A participant went offline in a channel (closed the chat, hung up the call).

    Fired by ``core.presence.left``; ``channel`` is the one given to ``joined``.
    """


@hookspec
def teleconsult_register_participant_roles() -> dict[str, str]:
    """Roles a participant of a consultation may have: ``{code: Russian title}``.

    The core registers its own (author, consultant, patient, observer); a plugin adds
    more (the guardian plugin's ``representative``, a video plugin's listener). A type
    ``for_representative`` exists only while some plugin registers ``representative``.
    ``core.consultations.add_participant`` refuses a role nobody registered; a code may be
    registered once. Fires once, while the app is being built; titles are lazy strings.
    """


# --------------------------------------------------------------------------- representation


@hookspec
def teleconsult_register_wards(person_ids: list[int]) -> dict[int, set[int]]:
    """The people each of ``person_ids`` acts for now as their legal representative.
    Formerly ``teleconsult_wards_find``.

    :param person_ids: ids of registry persons (``core.models.Patient``) with a portal
        account, whose principals are being built.
    :returns: ``{person id: {child id, ...}}`` of the links that grant access now (a
        guardian plugin: a link with a checked basis, the child still a minor); a person
        with none may be left out. The answers of all plugins are merged.

    Fires whenever a portal principal is built (``core.access.principals_for_accounts``),
    so on every request and Socket.IO event of a portal account: keep it to one query.
    The children's ids become the principal's ``patient_ids``: every rule that lets a
    patient see their own consultations lets the representative see the child's. The
    access policy calls every loaded implementation (it sits below the plugin switches):
    one answers ``{}`` while its plugin is switched off for the deployment
    (``core.plugins.is_enabled(name, organisation_id=None)``). Without an implementation
    nobody acts for anybody.
    """


@hookspec(firstresult=True)
def teleconsult_representation_check(representative: Patient, patient: Patient) -> bool | None:
    """Whether ``representative`` may file a consultation for ``patient`` as their legal
    representative; stops at the first non-None result.

    :param representative: the registry person who takes part for the patient.
    :param patient: the person the consultation is about (the child).
    :returns: True when a link between them is in force (a claim included: the doctor
        may file while the link waits for its basis), False when there is none, None to
        let another plugin answer.

    Fires when a consultation of a type ``for_representative`` is created
    (``core.consultations.create_consultation``), with the plugins switched on for the
    consultation's organisation; no answer counts as False.
    """


@hookspec
def teleconsult_person_children_listed(parent: Patient, children: list[Patient] | None, actor: Principal) -> None:
    """An identity provider has told who the children of ``parent`` are, at their login.

    :param parent: the registry person who has just logged in.
    :param children: the registry persons it lists as the parent's minor children
        (already matched by the provider's plugin), or None when it was not asked (an
        ESIA login without the ``kid_*`` scopes): then a basis taken from it cannot be
        re-checked.
    :param actor: the principal of the logging-in account, for the audit trail.
    :returns: nothing; a guardian plugin re-checks the basis of every link of the parent.

    Fires inside the login's transaction (the ESIA plugin fires it on every login).
    """


@hookspec
def teleconsult_register_patient_record_fields(patient: Patient) -> dict[str, Any]:
    """Extra fields of a registry record in the API (``GET /api/v1/registry/patients/<id>``).
    Formerly ``teleconsult_patient_record_extend``.

    :param patient: the record being shown.
    :returns: a mapping of field names to JSON-ready values (a guardian plugin gives
        ``representatives`` and ``children``), merged into the answer.

    Fires once per request, after the access policy allowed the record to be read.
    """


@hookspec(firstresult=True)
def teleconsult_registry_links_import(connection: Any, rows: list[Any], organisation_id: int | None) -> Any:
    """Import the ``guardianships`` section of a registry batch (``POST /api/v1/registry/import``);
    stops at the first non-None result.

    :param connection: the SQLAlchemy connection of the batch's transaction; the
        patients of the batch are already written to it.
    :param rows: the raw rows of the section, as the client sent them.
    :param organisation_id: the organisation of the importing token.
    :returns: ``core.registry_import.LinkImport`` (outcomes and errors by row index,
        the number of rows written), or None when the plugin does not import links.

    Fires only when the section is not empty. With errors the
    whole batch is refused and rolled back. Without an implementation a non-empty
    section is refused with a Russian message.
    """


# --------------------------------------------------------------------------- route


@hookspec
def teleconsult_register_routes() -> list[RouteSpec]:
    """Consultation routes the plugin provides, as ``core.routespec.RouteSpec``.

    A route declares its consultation types, the marshmallow schemas of its extra
    application and conclusion fields, and optional validation. The core creates the
    declared types on ``teleconsult db upgrade`` (the operator edits them afterwards)
    and stores route data as validated JSON on the consultation.
    """


@hookspec
def teleconsult_register_outcomes() -> list[OutcomeSpec]:
    """Ways a consultation may end that the plugin adds, as ``core.outcomes.OutcomeSpec``.

    Each has a code (stored in ``Consultation.outcome``), a Russian title (lists, the
    card, the API), ``conclusion``: whether it carries a conclusion, and ``document``:
    whether a document must be attached. For an outcome with a conclusion
    ``core.lifecycle.complete`` validates the ``conclusion_data`` it is given with the
    route's conclusion schema (Russian messages under ``conclusion_data``, nothing written
    on error). The core registers ``signed_conclusion``, ``uploaded_conclusion`` and
    ``no_conclusion``; a code may be
    registered once. Fires once, while the app is being built.
    """


@hookspec
def teleconsult_register_wizard_steps() -> list[WizardStep]:
    """Steps the plugin adds to the wizard «Подать заявку», as ``core.wizard_steps.WizardStep``.

    A step names the step it follows (``after``), when it is shown (``applies(values,
    consultation_type)``), the draft keys it ``provides`` (every later step then needs
    them), its template and its ``submit(values)``. The core's «Сведения для
    консультации» (code ``details``, after ``email``) is one. Fires once, while the app is
    being built; a step of a plugin switched off for the doctor's organisation is skipped.
    """


# --------------------------------------------------------------------------- templates


@hookspec
def teleconsult_register_template_blocks(slot: str, context: dict[str, Any]) -> list[str]:
    """HTML blocks the plugin adds at a named place of a page (as FlaskBB's template hooks).
    Formerly ``teleconsult_template_blocks``.

    :param slot: names the place.
    :param context: what the page passes there (``consultation`` on pages that show one).
    :returns: pieces of HTML, inserted as they are: render them from the plugin's own
        template (``flask.render_template``, which escapes the data), never by pasting
        data into a string.

    Fires while the page is rendered, through ``{{ template_blocks(slot, ...) }}``, with
    the plugins switched on for the consultation's organisation (the viewer's when the
    page shows none). Slots: ``workplace.card.details`` and ``workplace.card.panel`` (the
    application card's main column and right panel; ``consultation``),
    ``workplace.wizard.details.top`` / ``.bottom`` (around the route's fields;
    ``values``, ``ctype``), ``workplace.wizard.step`` (under every wizard step; ``step``,
    ``values``, ``ctype``), ``workplace.completion.form`` (in a completion form;
    ``consultation``, ``method``), ``workplace.documents.actions`` (a row of «Документы»;
    ``document``), ``portal.consultation.details`` (the patient's card;
    ``consultation``).
    """
