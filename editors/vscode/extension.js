// The toolexec-rehab extension: starts `toolexec-rehab lsp` for Go files, over stdio.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

const SECTION = "toolexec-rehab";
let client;

function settings() {
  const c = vscode.workspace.getConfiguration(SECTION);
  return {
    trace: c.get("trace"),
    rules: c.get("rules"),
    maxFileBytes: c.get("maxFileBytes"),
    debounceMs: c.get("debounceMs"),
  };
}

async function activate(context) {
  const command = vscode.workspace.getConfiguration(SECTION).get("path") || "toolexec-rehab";
  const serverOptions = { command, args: ["lsp"], transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "go" }],
    initializationOptions: { [SECTION]: settings() },
    synchronize: {
      // workspace/didChangeConfiguration with the "toolexec-rehab" section on every change
      configurationSection: SECTION,
      // Go files changed on disk, .rehab.yaml, go.mod and trace reports
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.go,.rehab.yaml,go.mod,*.json}"),
    },
  };
  client = new LanguageClient(SECTION, "toolexec-rehab", serverOptions, clientOptions);
  await client.start();
  context.subscriptions.push(client);
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
