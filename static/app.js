// Optional enhancements; every page works without JavaScript.
// Keeps what an inspector typed in the visit form if the page is closed by
// accident (restored on the next visit to the same form, cleared on submit).
(function () {
  var form = document.querySelector('form[data-keep]');
  if (!form || !window.localStorage) return;
  var key = 'bayige:' + form.getAttribute('data-keep');
  try {
    var saved = JSON.parse(localStorage.getItem(key) || '{}');
    Object.keys(saved).forEach(function (name) {
      var els = form.querySelectorAll('[name="' + name + '"]');
      els.forEach(function (el) {
        if (el.type === 'radio') { if (!form.querySelector('[name="' + name + '"]:checked')) el.checked = el.value === saved[name]; }
        else if (el.type !== 'file' && !el.value) el.value = saved[name];
      });
    });
  } catch (e) {}
  form.addEventListener('input', function () {
    var data = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === 'string' && k !== 'csrf_token') data[k] = v; });
    localStorage.setItem(key, JSON.stringify(data));
  });
  form.addEventListener('submit', function () { localStorage.removeItem(key); });
})();

// Print buttons (no inline handlers: the Content-Security-Policy forbids them).
document.querySelectorAll('[data-print]').forEach(function (b) {
  b.addEventListener('click', function () { window.print(); });
});
