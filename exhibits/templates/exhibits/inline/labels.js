// The print button (an onclick attribute would need the CSP's 'unsafe-inline').
(function () {
  var button = document.getElementById("print");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
