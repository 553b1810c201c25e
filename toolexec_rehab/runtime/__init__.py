"""Runtime evidence: instrumented builds (marker calls), the eBPF tracer, trace reports."""
