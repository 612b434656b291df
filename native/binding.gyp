{
  "targets": [
    {
      "target_name": "zos_native",
      "sources": ["zos-native.c", "spawn.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
