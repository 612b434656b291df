{
  "targets": [
    {
      "target_name": "zos_native",
      "sources": ["zos-native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
