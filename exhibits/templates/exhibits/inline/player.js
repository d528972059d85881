// Transcript follows the audio (clause highlight + characters already said), tapping a clause
// seeks there, speed buttons, lock-screen metadata. Without this script: plain audio + text.
(function () {
  var audio = document.getElementById("player");
  var sync = JSON.parse(document.getElementById("sync").textContent);
  var media = JSON.parse(document.getElementById("media").textContent);
  var box = document.getElementById("transcript");
  var clauses = box ? [].slice.call(box.querySelectorAll(".c")) : [];
  var texts = clauses.map(function (c) { return c.textContent; });
  var player = audio.parentNode;
  var current = -1, said = -1, tab = -1, touched = 0, frame = 0;
  var smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;

  function clauseAt(t) { // last clause starting at or before t: it stays lit through its pause
    var lo = 0, hi = sync.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (sync[mid][0] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }
  function saidUpTo(i, t) {
    if (t >= sync[i][1]) return texts[i].length;
    var marks = sync[i][2], n = 0;
    for (var j = 0; j < marks.length && marks[j][0] <= t; j++) n = marks[j][1];
    return n;
  }
  function follow(el) { // keep the lit clause in view unless the visitor is scrolling
    if (Date.now() - touched < 4000) return;
    var r = el.getBoundingClientRect(), top = player.getBoundingClientRect().bottom;
    if (r.top < top + 8 || r.bottom > innerHeight - 8) el.scrollIntoView({ block: "center", behavior: smooth ? "smooth" : "auto" });
  }
  function setTab(i) {
    if (tab >= 0) clauses[tab].tabIndex = -1;
    tab = i;
    clauses[i].tabIndex = 0;
  }
  function show() {
    var t = audio.currentTime, i = audio.ended ? -1 : clauseAt(t);
    if (i !== current) {
      if (current >= 0) {
        clauses[current].classList.remove("on");
        clauses[current].removeAttribute("aria-current");
        clauses[current].textContent = texts[current];
      }
      current = i;
      said = -1;
      if (i >= 0) {
        clauses[i].classList.add("on");
        clauses[i].setAttribute("aria-current", "true");
        if (!box.contains(document.activeElement)) setTab(i);
        follow(clauses[i]);
      }
    }
    if (i < 0) return;
    var n = saidUpTo(i, t);
    if (n === said) return;
    said = n;
    var mark = document.createElement("span");
    mark.className = "said";
    mark.textContent = texts[i].slice(0, n);
    clauses[i].textContent = texts[i].slice(n);
    clauses[i].insertBefore(mark, clauses[i].firstChild);
  }
  function tick() { show(); frame = audio.paused ? 0 : requestAnimationFrame(tick); }
  function seek(i) {
    audio.currentTime = sync[i][0];
    show();
    if (audio.paused) { var p = audio.play(); if (p && p.catch) p.catch(function () {}); }
  }

  if (clauses.length === sync.length && clauses.length) {
    document.getElementById("tap-hint").hidden = false;
    clauses.forEach(function (c) { c.tabIndex = -1; c.setAttribute("role", "button"); });
    setTab(0);
    box.addEventListener("click", function (e) {
      var c = e.target.closest(".c");
      if (c) seek(clauses.indexOf(c));
    });
    box.addEventListener("keydown", function (e) { // one tab stop; arrows move, Enter/Space plays
      var c = e.target.closest(".c");
      if (!c) return;
      var i = clauses.indexOf(c), j = { ArrowDown: i + 1, ArrowRight: i + 1, ArrowUp: i - 1, ArrowLeft: i - 1, Home: 0, End: clauses.length - 1 }[e.key];
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(i); return; }
      if (j === undefined) return;
      e.preventDefault();
      setTab(Math.max(0, Math.min(clauses.length - 1, j)));
      clauses[tab].focus();
    });
    ["play", "seeked", "timeupdate", "ended"].forEach(function (ev) {
      audio.addEventListener(ev, function () { if (!frame) tick(); });
    });
    ["wheel", "touchmove"].forEach(function (ev) {
      addEventListener(ev, function () { touched = Date.now(); }, { passive: true });
    });
  }

  var speeds = player.querySelector(".speeds");
  function setRate(rate) {
    audio.defaultPlaybackRate = audio.playbackRate = rate;
    speeds.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(Number(b.getAttribute("data-rate")) === rate));
    });
    try { localStorage.setItem("narration-rate", rate); } catch (e) {}
  }
  speeds.hidden = false;
  speeds.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-rate]");
    if (b) setRate(Number(b.getAttribute("data-rate")));
  });
  var saved = 1;
  try { saved = Number(localStorage.getItem("narration-rate")) || 1; } catch (e) {}
  setRate([0.75, 1, 1.25, 1.5].indexOf(saved) >= 0 ? saved : 1); // the visitor's pace carries over
  audio.addEventListener("loadedmetadata", function () { audio.playbackRate = audio.defaultPlaybackRate; });

  if ("mediaSession" in navigator && window.MediaMetadata) {
    navigator.mediaSession.metadata = new MediaMetadata({
      title: media.title, artist: media.gallery, album: "语音导览",
      artwork: media.artwork ? [{ src: new URL(media.artwork, location.href).href }] : []
    });
    var step = function (d) { return function () { audio.currentTime = Math.max(0, Math.min(audio.duration || 0, audio.currentTime + d)); }; };
    [["seekbackward", step(-10)], ["seekforward", step(10)]].forEach(function (h) {
      try { navigator.mediaSession.setActionHandler(h[0], h[1]); } catch (e) {}
    });
  }
})();
