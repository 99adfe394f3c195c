// The Load data page (pages/load_data.py): send the chosen file to the page's upload route.
// dcc.Upload reads the file into a data URL in the browser; a Dash callback body is capped at
// 1 MB for every request, so the file goes as the body of its own POST instead, and the server
// answers with the id of the job that checks it. Run again when a choice changes, so that the
// check always matches what the page shows.
(function () {
  var UPLOAD_URL = "/load-data/upload";
  var UPLOAD_ID = "load-data-upload";
  var MESSAGE_ID = "load-data-message";
  var FILE_INPUT_ID = "load-data-file"; // pages/load_data.py: ID_FILE_INPUT
  var PROGRESS_ID = "load-data-progress-box";

  function bytesOf(dataUrl) {
    var comma = dataUrl.indexOf(",");
    if (comma < 0 || dataUrl.slice(0, comma).indexOf(";base64") < 0) return null;
    var text = atob(dataUrl.slice(comma + 1));
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  function say(message) {
    var clientside = window.dash_clientside;
    if (clientside && clientside.set_props) clientside.set_props(MESSAGE_ID, { children: message });
  }

  function megabytes(n) {
    return (n / 1000000).toFixed(1) + " MB";
  }

  function upload(contents, table, mode, sheet, encoding, dateFormat, extraColumns, filename, limit) {
    var clientside = window.dash_clientside;
    if (!contents || !filename) return clientside.no_update;
    var triggered = (clientside.callback_context.triggered || []).map(function (t) {
      return t.prop_id;
    });
    // A new file is not a sheet of the last one: its sheet is asked for again when it has several.
    var newFile = triggered.some(function (id) {
      return id.indexOf(UPLOAD_ID + ".") === 0;
    });
    var sent = Date.now();
    var size = Math.floor(((contents.length - contents.indexOf(",") - 1) * 3) / 4);
    if (limit && size > limit) {
      return {
        job: null,
        sent: sent,
        message:
          filename + " is " + megabytes(size) + ", larger than " + megabytes(limit) +
          ", the most one upload may be: split it by months and load each part (a monthly refresh " +
          "keeps the months a file does not cover). Nothing was loaded.",
      };
    }
    var bytes = bytesOf(contents);
    if (bytes === null) return { job: null, sent: sent, message: filename + " could not be read by the browser." };
    var query = new URLSearchParams({ table: table || "", mode: mode || "", name: filename });
    if (sheet && !newFile) query.set("sheet", sheet);
    if (encoding) query.set("encoding", encoding);
    if (dateFormat) query.set("date_format", dateFormat);
    if (extraColumns && extraColumns.length) query.set("extra_columns", "1");
    say("Sending " + filename + " (" + megabytes(bytes.length) + ")…");
    return fetch(UPLOAD_URL + "?" + query.toString(), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/octet-stream", "X-Load-Data": "1" },
      body: bytes,
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { job: body.job || null, sent: sent, status: response.status, message: body.message };
          },
          function () {
            return { job: null, sent: sent, status: response.status, message: "The server refused the file (HTTP " + response.status + ")." };
          }
        );
      })
      .catch(function (error) {
        return { job: null, sent: sent, message: "The file could not be sent: " + error };
      });
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    loadData: { upload: upload },
  });

  // dcc.Upload's file input (transparent, inside the drop zone) is what the keyboard reaches, and
  // dbc.Progress draws a bar with no name: give the input the id its visible label points at,
  // and the bar a name, or a screen reader announces "file upload" and "progress bar" alone.
  function nameControls() {
    var input = document.querySelector("#" + UPLOAD_ID + " input[type=file]");
    if (input && input.id !== FILE_INPUT_ID) input.id = FILE_INPUT_ID;
    var bar = document.querySelector("#" + PROGRESS_ID + " [role=progressbar]");
    if (bar && !bar.getAttribute("aria-label")) bar.setAttribute("aria-label", "How far the check or load has got");
  }

  new MutationObserver(nameControls).observe(document.documentElement, { childList: true, subtree: true });
})();
