// dockyard dashboard: the live log of a build or run page. The log arrives over a
// WebSocket (the session cookie authenticates it); lines are added as text, never as HTML.
// The view follows new lines until the reader scrolls up; the search box hides the lines
// that do not contain its text. A run's socket also sends its CPU and memory charts
// ("usage" frames: SVG rendered by the server, parsed as SVG, and words set as text).
(function () {
  "use strict";

  function start(box) {
    var search = document.querySelector("[data-log-search]");
    var count = document.querySelector("[data-log-count]");
    var follow = document.querySelector("[data-log-follow]");
    var state = document.querySelector("[data-log-state]");
    var lines = 0;

    function atBottom() {
      return box.scrollHeight - box.scrollTop - box.clientHeight < 8;
    }
    function matches(text) {
      var wanted = search ? search.value.trim().toLowerCase() : "";
      return !wanted || text.toLowerCase().indexOf(wanted) !== -1;
    }
    function showCount() {
      if (!count) return;
      var shown = box.querySelectorAll(".line:not([hidden])").length;
      count.textContent = search && search.value.trim()
        ? shown + " of " + lines + " lines match"
        : lines + " lines";
    }
    function add(entries) {
      var stick = follow ? follow.checked : atBottom();
      var fragment = document.createDocumentFragment();
      entries.forEach(function (entry) {
        var line = document.createElement("span");
        line.className = "line";
        var ts = document.createElement("span");
        ts.className = "ts";
        ts.textContent = (entry.ts || "").replace("T", " ").slice(0, 19);
        line.appendChild(ts);
        line.appendChild(document.createTextNode(entry.log));
        line.dataset.text = entry.log;
        line.hidden = !matches(entry.log);
        fragment.appendChild(line);
        lines += 1;
      });
      box.appendChild(fragment);
      showCount();
      if (stick) box.scrollTop = box.scrollHeight;
    }
    function chart(box, markup) {
      if (!box) return;
      box.textContent = "";
      if (!markup) return;
      var svg = new DOMParser().parseFromString(markup, "image/svg+xml").documentElement;
      if (svg.namespaceURI === "http://www.w3.org/2000/svg") box.appendChild(document.importNode(svg, true));
    }
    function usage(data) {
      chart(document.querySelector('[data-usage-chart="cpu"]'), data.cpu);
      chart(document.querySelector('[data-usage-chart="memory"]'), data.memory);
      var words = document.querySelector("[data-usage-summary]");
      if (words) words.textContent = data.summary;
    }
    function say(text) {
      if (state) state.textContent = text;
    }

    // Scrolling up pauses following; scrolling back to the end resumes it.
    box.addEventListener("scroll", function () {
      if (follow) follow.checked = atBottom();
    });
    if (follow) {
      follow.addEventListener("change", function () {
        if (follow.checked) box.scrollTop = box.scrollHeight;
      });
    }
    if (search) {
      search.addEventListener("input", function () {
        box.querySelectorAll(".line").forEach(function (line) {
          line.hidden = !matches(line.dataset.text);
        });
        showCount();
      });
    }

    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + box.dataset.logWs);
    say("Connecting…");
    socket.onopen = function () { say("Following the log live."); };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "log-lines") add(frame.data);
      else if (frame.type === "usage") usage(frame.data);
      else if (frame.type === "error") say("The log could not be followed: " + frame.data.message);
    };
    socket.onclose = function () {
      if (state && state.textContent.indexOf("could not") === -1) say("End of the log.");
    };
    showCount();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-log-ws]");
    if (box && "WebSocket" in window) start(box);
  });
})();
