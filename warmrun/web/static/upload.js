// Uploads run files one request per file, showing each file's progress and outcome (what
// happened and why, as the API words it), then refreshes the page's points balance, impact
// and recent runs from the server without a reload. Without this script the form posts to
// /me and the page answers with the same outcomes.
(function () {
  "use strict";
  var zone = document.getElementById("dropzone");
  if (!zone || !window.FormData || !window.DOMParser) { return; }
  zone.classList.add("js");
  var input = document.getElementById("files");
  var coords = document.getElementById("coords");
  var runner = document.getElementById("for_resident_id");
  var list = document.getElementById("results");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var t = JSON.parse(document.getElementById("upload-text").textContent);
  var pending = 0;

  function line(li, r) {
    var o = r.outcome;
    var text = document.createElement("div");
    text.className = "outcome outcome-" + (o ? o.status : "not_counted");
    text.textContent = o ? o.message : (r.error ? r.error.message : t.failed);
    li.appendChild(text);
    if (r.coordinates && r.coordinates.message) {
      var note = document.createElement("div");
      note.className = "coords-note muted";
      note.textContent = r.coordinates.message;
      li.appendChild(note);
    }
    var runId = r.run_id || (o && o.run_id);
    if (runId) {
      var a = document.createElement("a");
      a.href = "/me/runs/" + encodeURIComponent(runId);
      a.textContent = t.view;
      li.appendChild(a);
    }
  }

  function failed(li, message) {
    var text = document.createElement("div");
    text.className = "outcome outcome-not_counted";
    text.textContent = message || t.failed;
    li.appendChild(text);
    li.setAttribute("data-status", "error");
  }

  // The figures an upload changes, re-read from the page as the server renders it now.
  function refresh() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/me");
    xhr.onload = function () {
      if (xhr.status !== 200) { return; }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var live = document.querySelectorAll("[data-live][id]");
      for (var i = 0; i < live.length; i++) {
        var fresh = doc.getElementById(live[i].id);
        if (fresh) { live[i].parentNode.replaceChild(document.importNode(fresh, true), live[i]); }
      }
      zone.setAttribute("data-refreshed", String(Date.now()));
    };
    xhr.send();
  }

  function finished() {
    pending -= 1;
    if (pending === 0) { refresh(); }
  }

  function send(file) {
    var li = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    li.appendChild(name); li.appendChild(bar);
    list.appendChild(li);
    var data = new FormData();
    data.append("files", file, file.name);
    if (coords) { data.append("coords", coords.value); }
    if (runner && runner.value) { data.append("for_resident_id", runner.value); }
    var xhr = new XMLHttpRequest();
    pending += 1;
    xhr.open("POST", "/api/v1/runs");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
    xhr.onload = function () {
      li.removeChild(bar);
      var body;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if ((xhr.status === 200 || xhr.status === 422) && body && body.files) {
        body.files.forEach(function (r) { line(li, r); });
        li.setAttribute("data-status", body.files.map(function (r) { return r.status; }).join(","));
        li.setAttribute("data-outcome", body.files.map(function (r) { return r.outcome ? r.outcome.status : "not_counted"; }).join(","));
      } else {
        failed(li, body && body.error ? body.error.message : null);
      }
      finished();
    };
    xhr.onerror = function () { li.removeChild(bar); failed(li, null); finished(); };
    xhr.send(data);
  }

  function sendAll(files) { for (var i = 0; i < files.length; i++) { send(files[i]); } }
  input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
  zone.addEventListener("submit", function (e) { e.preventDefault(); sendAll(input.files); input.value = ""; });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) { e.preventDefault(); zone.classList.remove("over"); sendAll(e.dataTransfer.files); });
})();
