// The console is served under a Content-Security-Policy without 'unsafe-inline', so the
// inline onclick handlers of Flask-Admin's templates never run (Chromium reports each one
// as the page is parsed); this binds the same behaviour to those elements as listeners. Only the known forms of handler are read
// (nothing is evaluated): a batch action, a delete confirmation, a filter entry, an
// inline form's «Add».
(function () {
  'use strict';
  var quoted = "'((?:[^'\\\\]|\\\\.)*)'";
  var forms = [
    [new RegExp('^return modelActions\\.execute\\(' + quoted + '\\);?$'), function (element, name) {
      return function (event) {
        event.preventDefault();
        window.modelActions.execute(name);
      };
    }],
    [new RegExp('^return faHelpers\\.safeConfirm\\(' + quoted + '\\);?$'), function (element, message) {
      return function (event) {
        if (!window.faHelpers.safeConfirm(message)) { event.preventDefault(); }
      };
    }],
    [new RegExp('^faForm\\.addInlineField\\(this, ' + quoted + '\\);?$'), function (element, id) {
      return function (event) {
        event.preventDefault();
        window.faForm.addInlineField(element, id);
      };
    }],
    [/^return false;?$/, function () {
      return function (event) { event.preventDefault(); };
    }]
  ];

  function unescape(text) { return (text || '').replace(/\\(.)/g, '$1'); }

  function bind(element) {
    var code = (element.getAttribute('onclick') || '').trim();
    for (var i = 0; i < forms.length; i++) {
      var match = forms[i][0].exec(code);
      if (match) {
        element.removeAttribute('onclick');
        element.addEventListener('click', forms[i][1](element, unescape(match[1])));
        return;
      }
    }
  }

  // ``href="javascript:void(0)"`` (menus, filters, actions) is refused by the policy when
  // followed: the link stays a link to nowhere.
  function disarm(link) {
    link.setAttribute('href', '#');
    link.addEventListener('click', function (event) { event.preventDefault(); });
  }

  function bindAll() {
    document.querySelectorAll('[onclick]').forEach(bind);
    document.querySelectorAll('a[href^="javascript:"]').forEach(disarm);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', bindAll);
  } else {
    bindAll();
  }
})();
