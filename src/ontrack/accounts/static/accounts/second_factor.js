/* The second factor's pages, without inline scripts (the Content-Security-Policy refuses
   them): once django-otp-webauthn has registered a passkey, go to the page the element
   marked data-after-passkey names (or reload, to list it); a form marked data-confirm asks
   before it is sent (an administrator's reset). */
document.addEventListener("otp_webauthn.register_complete", function () {
  var marked = document.querySelector("[data-after-passkey]");
  var target = marked ? marked.getAttribute("data-after-passkey") : "";
  if (target) {
    window.location.href = target;
  } else {
    window.location.reload();
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  }
});
