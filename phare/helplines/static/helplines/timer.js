// Progressive enhancement: the time on the call. Without JavaScript the page works the same, without a timer.
(function () {
  var box = document.querySelector(".call-timer");
  if (!box) return;
  var started = Date.parse(box.getAttribute("data-started"));
  if (isNaN(started)) started = Date.now();
  var out = box.querySelector("output");
  box.hidden = false;
  function tick() {
    var s = Math.max(0, Math.floor((Date.now() - started) / 1000));
    var m = Math.floor(s / 60), r = s % 60;
    out.textContent = m + ":" + (r < 10 ? "0" : "") + r;
  }
  tick();
  setInterval(tick, 1000);
})();
