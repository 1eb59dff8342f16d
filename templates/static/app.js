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
  // server also answers the sign-out with Clear-Site-Data. Visits still
  // waiting to be uploaded would go with it: the inspector is asked first.
  var logout = document.querySelector('form[data-logout]');
  if (logout && window.localStorage) {
    logout.addEventListener('submit', function (ev) {
      var n = window.bayigeQueued || 0;
      if (n > 0 && !window.confirm('还有 ' + n + ' 条检查记录待上传，退出后将从本机删除。确定退出吗？')) {
        ev.preventDefault();
        return;
      }
      clearDrafts();
    });
  }

  // Keeps what an inspector typed in the visit form if the page is closed by
  // accident (restored on the next visit to the same form by the same user,
  // cleared once the visit is queued or sent, and at sign-out).
  var form = document.querySelector('form[data-keep]');
  var user = document.body.getAttribute('data-user');
  if (!form || !user || !window.localStorage) return;
  var key = PREFIX + 'draft:' + user + ':' + form.getAttribute('data-keep');
  try {
    var saved = JSON.parse(localStorage.getItem(key) || '{}');
    Object.keys(saved).forEach(function (name) {
      if (name === 'idempotency_key') return;
      var els = form.querySelectorAll('[name="' + name + '"]');
      els.forEach(function (el) {
        if (el.type === 'radio') { if (!form.querySelector('[name="' + name + '"]:checked')) el.checked = el.value === saved[name]; }
        else if (el.type !== 'file' && (!el.value || el.defaultValue === el.value)) el.value = saved[name];
      });
    });
  } catch (e) {}
  form.addEventListener('input', function () {
    var data = {};
    new FormData(form).forEach(function (v, k) { if (typeof v === 'string' && k !== 'csrf_token') data[k] = v; });
    localStorage.setItem(key, JSON.stringify(data));
  });
  form.bayigeDraftKey = key;
})();

// Print buttons (no inline handlers: the Content-Security-Policy forbids them).
document.querySelectorAll('[data-print]').forEach(function (b) {
  b.addEventListener('click', function () { window.print(); });
});
