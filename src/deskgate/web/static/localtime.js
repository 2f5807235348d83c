// Moments in the viewer's time zone: the one they chose on their account page (<html data-time-zone>),
// else their browser's. The server writes <time datetime="…Z">… UTC</time> (the `when` and `day`
// filters); this rewrites the text with the zone named, and keeps UTC in the title.
// Without JavaScript the UTC text stays, which is still right.
(function () {
  "use strict";
  var zone = document.documentElement.dataset.timeZone || undefined;
  function formats(timeZone) {
    return [
      new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short", timeZone: timeZone,
      }),
      new Intl.DateTimeFormat(undefined, { year: "numeric", month: "2-digit", day: "2-digit", timeZone: timeZone }),
    ];
  }
  var chosen;
  try {
    chosen = formats(zone);
  } catch (unknownZone) {  // a zone this browser does not know: its own zone instead
    chosen = formats(undefined);
  }
  var minute = chosen[0];
  var dayOnly = chosen[1];

  function shown(format, moment) {
    var parts = {};
    format.formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    var text = parts.year + "-" + parts.month + "-" + parts.day;
    if (parts.hour !== undefined) {
      text += " " + parts.hour + ":" + parts.minute + " " + parts.timeZoneName;
    }
    return text;
  }

  document.querySelectorAll("time[datetime][data-show]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime())) {
      return;
    }
    var format = element.dataset.show === "day" ? dayOnly : minute;
    element.title = element.textContent;
    element.textContent = shown(format, moment);
  });
})();
