// Client-side filters of the HTML report. Reads only data-* attributes and sets only `hidden` and
// textContent: no HTML is ever built from report data here.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  function checked(name) {
    var values = {};
    var boxes = form.querySelectorAll('input[name="' + name + '"]');
    for (var i = 0; i < boxes.length; i++) { if (boxes[i].checked) { values[boxes[i].value] = true; } }
    return values;
  }
  function apply() {
    var severity = checked("severity"), family = checked("family"), status = checked("status");
    var groups = document.querySelectorAll("section.group");
    var shown = 0;
    for (var g = 0; g < groups.length; g++) {
      var group = groups[g];
      var groupMatches = severity[group.dataset.severity] === true && family[group.dataset.family] === true;
      var visible = 0;
      var bodies = group.querySelectorAll("tbody.finding");
      for (var b = 0; b < bodies.length; b++) {
        var match = groupMatches && status[bodies[b].dataset.status] === true;
        bodies[b].hidden = !match;
        if (match) { visible++; }
      }
      group.hidden = visible === 0;
      shown += visible;
    }
    document.getElementById("shown-count").textContent = String(shown);
    var none = document.getElementById("no-match");
    if (none) { none.hidden = shown !== 0; }
  }
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  apply();
})();
