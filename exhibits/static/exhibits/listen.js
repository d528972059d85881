// Listening beacons (issue #18): play, pause, seek, each sentence reached and end go to the
// analytics endpoint with navigator.sendBeacon. No cookies, nothing kept on the phone: the listen
// id is random and lives as long as this page view. Sending never waits for an answer and never
// touches playback; without sendBeacon (or if anything here fails) nothing is sent.
(function () {
  var audio = document.getElementById("player");
  var media = document.getElementById("media");
  if (!audio || !media || !navigator.sendBeacon || !window.crypto) return;
  media = JSON.parse(media.textContent);
  var sync = JSON.parse(document.getElementById("sync").textContent);
  if (typeof media.code !== "number" || !media.beacon) return;
  var bytes = crypto.getRandomValues(new Uint8Array(12));
  var listen = [].map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  var seq = 0, queue = [], reached = {}, listened = 0, last = 0, timer = 0, MAX_BATCH = 32;

  function round(x) { return Math.round((x || 0) * 1000) / 1000; }
  function clauseAt(t) {
    var lo = 0, hi = sync.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (sync[mid][0] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }
  function flush() {
    clearTimeout(timer);
    timer = 0;
    while (queue.length) {
      var body = JSON.stringify({ l: listen, e: media.code, r: media.rendition, ev: queue.splice(0, MAX_BATCH) });
      try { navigator.sendBeacon(media.beacon, body); } catch (e) { queue = []; }
    }
  }
  function add(kind, sentence) {
    queue.push([seq++, kind, round(audio.currentTime), sentence === undefined ? null : sentence, round(listened)]);
    // A sentence reached rides along with the next event, or goes within 15 s on its own.
    if (kind !== "progress") flush(); else if (!timer) timer = setTimeout(flush, 15000);
  }
  function reach(t) {
    var i = clauseAt(t);
    if (i >= 0 && !reached[i]) { reached[i] = true; add("progress", i); }
  }
  audio.addEventListener("timeupdate", function () {
    var t = audio.currentTime, step = t - last;
    last = t;
    if (audio.paused || audio.seeking) return;
    if (step > 0 && step < 2 * (audio.playbackRate || 1)) listened += step; // a jump is a seek, not listening
    reach(t);
  });
  audio.addEventListener("play", function () { last = audio.currentTime; add("play"); });
  audio.addEventListener("pause", function () { if (!audio.ended) add("pause"); });
  audio.addEventListener("seeked", function () { last = audio.currentTime; add("seek"); });
  audio.addEventListener("ended", function () { reach(audio.currentTime); add("end"); });
  addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });
})();
