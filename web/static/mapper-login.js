// Portiere Mapper sign-in: start LIFF, then post LINE's ID token to the
// server, which verifies it with LINE. Nothing about the user is sent but
// the token (LINE's guidance: the server must not trust a profile the page
// sends).
(function () {
  "use strict";
  var form = document.getElementById("line-login");
  if (!form) { return; }
  var status = document.getElementById("liff-status");
  function say(text) { if (status) { status.textContent = text; } }
  form.addEventListener("submit", function (ev) {
    if (form.elements.id_token.value) { return; }
    ev.preventDefault();
    if (!window.liff) { say("LINE's sign-in could not load. Open this page from the LINE app."); return; }
    window.liff.init({ liffId: form.getAttribute("data-liff-id") }).then(function () {
      if (!window.liff.isLoggedIn()) { window.liff.login({ redirectUri: window.location.href }); return; }
      var token = window.liff.getIDToken();
      if (!token) { say("LINE gave no ID token: the LIFF app needs the openid scope."); return; }
      form.elements.id_token.value = token;
      form.submit();
    }, function () { say("LINE's sign-in failed to start. Try again from the LINE app."); });
  });
})();
