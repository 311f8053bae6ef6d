// The signing window (seed 002 §7.1): certificates from the CryptoPro browser plug-in
// (its documented asynchronous API, loaded by CryptoPro's cadesplugin_api.js) or the
// development signer; a detached CAdES-BES of the server's bytes; the server verifies.
(function () {
  "use strict";
  var root = document.querySelector("[data-signing]");
  if (!root) return;
  var messages = JSON.parse(document.getElementById("signing-messages").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var list = root.querySelector("[data-certificates]");
  var state = root.querySelector("[data-plugin-state]");
  var errorBox = root.querySelector("[data-signing-error]");
  var resultBox = root.querySelector("[data-signing-result]");
  var button = root.querySelector("[data-sign-button]");
  var frame = document.querySelector("[data-pdf-frame]");
  var pdfLink = document.querySelector("[data-pdf-link]");
  var development = JSON.parse(root.dataset.development || "[]");
  var certificates = [];  // {id, owner, issuer, not_after, test, plugin: cert object, der: base64}
  var documentId = root.dataset.documentId ? parseInt(root.dataset.documentId, 10) : null;
  var contentUrl = root.dataset.contentUrl || null;
  var prepared = !root.dataset.prepareUrl;  // a plain file needs no mark rendered in
  var MIN_VERSION = [2, 0, 13771];
  var readyText = "";  // what the plug-in line says once the plug-in (or its absence) is known

  function say(text, v) { return text.replace("{v}", v === undefined ? "" : v); }
  function showError(text) { errorBox.textContent = text; errorBox.hidden = !text; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok || data.ok === false) {
          var problem = new Error(data.message || data.error || messages.network);
          problem.serverMessage = true;
          throw problem;
        }
        return data;
      });
    });
  }

  function explain(error) {
    var text = String((error && (error.message || error)) || "");
    if (/0x80070057/i.test(text)) return say(messages.plugin_old, "2.0.13642");
    if (/0x800B010A|цепочк|chain/i.test(text)) return messages.chain;
    if (/0x8007065B|0x800704C7|отмен|cancel/i.test(text)) return messages.cancelled;
    return say(messages.failed, text);
  }

  function versionAtLeast(text) {
    var parts = String(text).split(".").map(function (p) { return parseInt(p, 10) || 0; });
    for (var i = 0; i < MIN_VERSION.length; i++) {
      if ((parts[i] || 0) !== MIN_VERSION[i]) return (parts[i] || 0) > MIN_VERSION[i];
    }
    return true;
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (_, reject) {
      setTimeout(function () { reject(new Error("timeout")); }, ms);
    })]);
  }

  async function loadPlugin() {
    var plugin = window.cadesplugin;
    if (!plugin || typeof plugin.then !== "function") throw {code: "plugin_missing"};
    try { await withTimeout(plugin, 10000); } catch (e) { throw {code: "plugin_missing"}; }
    if (typeof plugin.CreateObjectAsync !== "function") throw {code: "plugin_missing"};
    var about = await plugin.CreateObjectAsync("CAdESCOM.About");
    var version = await (await about.PluginVersion).toString();
    if (!versionAtLeast(version)) throw {code: "plugin_old", version: version};
    return {plugin: plugin, version: version};
  }

  async function pluginCertificates(plugin) {
    var store = await plugin.CreateObjectAsync("CAdESCOM.Store");
    await store.Open(plugin.CAPICOM_CURRENT_USER_STORE, plugin.CAPICOM_MY_STORE, plugin.CAPICOM_STORE_OPEN_MAXIMUM_ALLOWED);
    var all = await store.Certificates;
    var count = await all.Count;
    var out = [];
    for (var i = 1; i <= count; i++) {
      var cert = await all.Item(i);
      if (!(await cert.HasPrivateKey())) continue;
      var validTo = new Date(await cert.ValidToDate);
      if (validTo < new Date()) continue;
      out.push({
        id: await cert.Thumbprint, owner: await cert.GetInfo(0), issuer: await cert.GetInfo(1),
        not_after: validTo.toLocaleDateString("ru-RU"), test: false, plugin: cert,
        der: (await cert.Export(plugin.CADESCOM_ENCODE_BASE64 || 0)).replace(/\s+/g, "")
      });
    }
    await store.Close();
    return out;
  }

  function render() {
    list.textContent = "";
    certificates.forEach(function (c, index) {
      var label = document.createElement("label");
      label.className = "certificate";
      var input = document.createElement("input");
      input.type = "radio"; input.name = "certificate"; input.value = String(index);
      input.addEventListener("change", function () { choose(c); });
      var text = document.createElement("span");
      text.textContent = c.owner + " · " + c.issuer + " · " + messages.valid_until + " " + c.not_after;
      label.appendChild(input); label.appendChild(text);
      if (c.test) {
        var badge = document.createElement("span");
        badge.className = "badge test-mark"; badge.textContent = messages.test_badge;
        label.appendChild(badge);
      }
      list.appendChild(label);
    });
    if (certificates.length === 1) {
      list.querySelector("input").checked = true;
      choose(certificates[0]);
    }
  }

  var chosen = null;
  async function choose(certificate) {
    chosen = certificate;
    showError("");
    button.disabled = true;
    if (!root.dataset.prepareUrl) { button.disabled = false; return; }
    state.textContent = messages.preparing;
    try {
      var body = certificate.plugin ? {certificate: certificate.der} : {development: true};
      var data = await post(root.dataset.prepareUrl, body);
      documentId = data.document_id;
      contentUrl = data.pdf_url;
      prepared = true;
      if (frame) frame.src = data.pdf_url;
      if (pdfLink) pdfLink.href = data.pdf_url;
      state.textContent = readyText;
      button.disabled = false;
    } catch (error) {
      state.textContent = readyText;
      showError(error.serverMessage ? error.message : messages.network);
    }
  }

  function base64(buffer) {
    var bytes = new Uint8Array(buffer), chunks = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      chunks.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return btoa(chunks.join(""));
  }

  async function signWithPlugin(certificate) {
    var plugin = window.cadesplugin;
    var response = await fetch(contentUrl, {credentials: "same-origin"});
    var content = base64(await response.arrayBuffer());
    var signer = await plugin.CreateObjectAsync("CAdESCOM.CPSigner");
    await signer.propset_Certificate(certificate.plugin);
    await signer.propset_CheckCertificate(true);
    var signed = await plugin.CreateObjectAsync("CAdESCOM.CadesSignedData");
    // The encoding before the content: the plug-in reads the content by it.
    await signed.propset_ContentEncoding(plugin.CADESCOM_BASE64_TO_BINARY);
    await signed.propset_Content(content);
    var signature = await signed.SignCades(signer, plugin.CADESCOM_CADES_BES, true);
    return String(signature).replace(/\s+/g, "");
  }

  button.addEventListener("click", async function () {
    if (!chosen || !prepared) return;
    button.disabled = true;
    showError("");
    state.textContent = messages.signing;
    try {
      var body = {document_id: documentId};
      if (chosen.plugin) body.signature = await signWithPlugin(chosen);
      else body.development = true;
      var data = await post(root.dataset.signUrl, body);
      state.textContent = readyText;
      resultBox.textContent = data.message + " · " + data.signer;
      resultBox.hidden = false;
      root.querySelector("[data-archive-link]").href = data.archive_url;
      root.querySelector("[data-done]").hidden = false;
      list.disabled = true;
    } catch (error) {
      state.textContent = readyText;
      showError(error.serverMessage ? error.message : explain(error));
      button.disabled = false;
    }
  });

  (async function start() {
    try {
      var loaded = await loadPlugin();
      readyText = state.textContent = say(messages.plugin_ready, loaded.version);
      certificates = await pluginCertificates(loaded.plugin);
      if (!certificates.length && !development.length) showError(messages.no_certificate);
    } catch (problem) {
      if (development.length) {
        readyText = state.textContent = messages.development;
      } else {
        readyText = state.textContent = "";
        if (problem && problem.code === "plugin_old") showError(say(messages.plugin_old, problem.version));
        else if (problem && problem.code === "plugin_missing") showError(messages.plugin_missing);
        else showError(explain(problem));
      }
    }
    certificates = certificates.concat(development);
    render();
  })();
})();
