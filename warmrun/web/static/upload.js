// Uploads run files one request per file, showing each file's progress and outcome.
(function () {
  "use strict";
  var zone = document.getElementById("dropzone");
  if (!zone) { return; }
  var input = document.getElementById("files");
  var list = document.getElementById("results");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var t = JSON.parse(document.getElementById("upload-text").textContent);

  function describe(r) {
    if (r.status === "error") { return r.error.message; }
    if (r.status === "existing") { return t.existing; }
    if (r.status === "accepted") {
      return t.credited.replace("{km}", (r.credited_m / 1000).toFixed(1)).replace("{points}", r.points);
    }
    if (r.status === "flagged") { return t.flagged; }
    return t.rejected;
  }

  function send(file) {
    var li = document.createElement("li");
    var name = document.createElement("strong");
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    var text = document.createElement("div");
    text.className = "muted";
    li.appendChild(name); li.appendChild(bar); li.appendChild(text);
    list.appendChild(li);
    var data = new FormData();
    data.append("files", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/runs");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); } };
    xhr.onload = function () {
      bar.value = 100;
      var body;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if ((xhr.status === 200 || xhr.status === 422) && body && body.files) {
        text.textContent = body.files.map(describe).join(" · ");
        li.setAttribute("data-status", body.files.map(function (r) { return r.status; }).join(","));
      } else {
        text.textContent = body && body.error ? body.error.message : t.failed;
        li.setAttribute("data-status", "error");
      }
    };
    xhr.onerror = function () { text.textContent = t.failed; li.setAttribute("data-status", "error"); };
    xhr.send(data);
  }

  function sendAll(files) { for (var i = 0; i < files.length; i++) { send(files[i]); } }
  input.addEventListener("change", function () { sendAll(input.files); input.value = ""; });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) { e.preventDefault(); zone.classList.remove("over"); sendAll(e.dataTransfer.files); });
})();
