// On-screen keypad for the number form (the form itself works without it).
document.querySelectorAll(".go .keypad").forEach(function (pad) {
  var input = pad.parentNode.querySelector("input");
  pad.hidden = false;
  pad.addEventListener("click", function (e) {
    var key = e.target.closest("button[data-k]");
    if (!key) return;
    var k = key.getAttribute("data-k");
    if (k === "del") input.value = input.value.slice(0, -1);
    else if (input.value.length < 9) input.value += k;
  });
});
