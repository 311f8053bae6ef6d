/* teleconsult: behaviour shared by every page, attached by data attributes (no inline
   handlers: inside a form, an inline handler's `document` may be a field named "document"). */
(function () {
  'use strict';
  function ready(fn) {
    if (document.readyState !== 'loading') { fn(); } else { document.addEventListener('DOMContentLoaded', fn); }
  }
  ready(function () {
    /* <input type="file" data-shows-name="ID">: the chosen files' names appear in #ID. */
    document.querySelectorAll('input[type=file][data-shows-name]').forEach(function (input) {
      var target = document.getElementById(input.dataset.showsName);
      input.addEventListener('change', function () {
        if (!target) { return; }
        target.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(', ');
      });
    });
    /* The main menu on a phone: «Меню» opens and closes it. */
    document.querySelectorAll('.main-menu .menu-toggle').forEach(function (button) {
      button.addEventListener('click', function () {
        var open = button.closest('.main-menu').classList.toggle('open');
        button.setAttribute('aria-expanded', open ? 'true' : 'false');
      });
    });
    /* <select data-autosubmit>: choosing a value submits its form. */
    document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
      select.addEventListener('change', function () { select.form.submit(); });
    });
    /* <form data-confirm="question">: asks before submitting (irreversible actions). */
    document.querySelectorAll('form[data-confirm]').forEach(function (form) {
      form.addEventListener('submit', function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  });
}());
