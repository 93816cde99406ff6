"""Where a ferris_ef context gets its data: one backend class per way of running a script."""
