// Optional enhancements; every page works without JavaScript.
(function () {
  var PREFIX = 'bayige:';
  function clearDrafts() {
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var k = localStorage.key(i);
        if (k && k.indexOf(PREFIX) === 0) localStorage.removeItem(k);
      }
    } catch (e) {}
  }
  // Signing out ends every draft kept on this device (a shared phone); the
  // server also answers the sign-out with Clear-Site-Data.
  var logout = document.querySelector('form[data-logout]');
  if (logout && window.localStorage) logout.addEventListener('submit', clearDrafts);

  // Keeps what an inspector typed in the visit form if the page is closed by
  // accident (restored on the next visit to the same form by the same user,
  // cleared on submit and at sign-out).
  var form = document.querySelector('form[data-keep]');
  var user = document.body.getAttribute('data-user');
  if (!form || !user || !window.localStorage) return;
  var key = PREFIX + 'draft:' + user + ':' + form.getAttribute('data-keep');
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
