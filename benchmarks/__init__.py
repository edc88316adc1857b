"""hotreload's benchmark suite: save-to-live latency, call overhead, scale, memory, idle cost."""
