// Small helps on Phare's forms; every form works without them.
// A filter box above long checkbox lists (countries), and a live character count under limited text areas.
(function () {
  "use strict";
  function filters() {
    document.querySelectorAll("[data-pick]").forEach(function (box) {
      var input = document.createElement("input");
      input.type = "search";
      input.className = "pick-filter";
      input.setAttribute("aria-label", document.documentElement.lang === "en" ? "Filter" : "…");
      input.placeholder = "🔍";
      input.addEventListener("input", function () {
        var q = input.value.trim().toLowerCase();
        box.querySelectorAll(".pick-list label").forEach(function (label) {
          label.hidden = q !== "" && label.textContent.toLowerCase().indexOf(q) < 0 && !label.querySelector("input").checked;
        });
      });
      box.insertBefore(input, box.firstChild);
    });
  }
  function counters() {
    document.querySelectorAll("textarea[maxlength]").forEach(function (area) {
      var note = area.parentNode.querySelector(".limit");
      if (!note) { return; }
      var limit = parseInt(area.getAttribute("maxlength"), 10);
      var text = note.textContent;
      function update() {
        var left = limit - area.value.length;
        note.textContent = text + " (" + left + ")";
        note.classList.toggle("over", left < 100);
      }
      area.addEventListener("input", update);
      update();
    });
  }
  function focusSummary() {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { filters(); counters(); focusSummary(); });
})();
