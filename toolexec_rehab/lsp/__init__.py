"""`toolexec-rehab lsp`: the language server (a front end, like cli and vettool).

- text.py: positions (LSP lines and UTF-16 columns <-> the engine's byte offsets);
- session.py: the editor's buffers, the packages kept in memory per directory, the config
  and the trace per module, and the analyses (no LSP library here);
- server.py: the protocol, on pygls and lsprotocol (imported only by the `lsp` command).
"""
