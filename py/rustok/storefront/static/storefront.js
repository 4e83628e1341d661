// Optional: filter and currency forms submit themselves when changed. Every page works without it.
document.addEventListener("change", function (event) {
  var form = event.target.form;
  if (form && form.classList.contains("auto-submit") && event.target.type !== "search") form.submit();
});
