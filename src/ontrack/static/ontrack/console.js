/* Small behaviours of the console that would otherwise be inline handlers, which the
   Content-Security-Policy refuses: a select marked data-autosubmit submits its form. */
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof HTMLElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit();
  }
});
