# zos guest init (container mode): turns the NoCloud documents of the VM's cloud-init disk
# (meta-data, network-config, user-data, in that order as arguments) into the seed commands
# guest/init defines: zos_hostname, zos_nic, zos_addr, zos_route, zos_dns, zos_ssh_keys, zos_mount,
# each value single-quoted for the shell. It reads the block YAML our host writes
# (node/host/vm/cloudinit.ts): mappings with plain keys, `- ` sequences, one scalar per line
# (plain, 'single' or "double" quoted; nothing folded), `[]` for an empty list. Busybox awk.

# A quoted or plain scalar's value.
function scalar(s,   out, c, i, n) {
  if (s ~ /^'/) {
    s = substr(s, 2, length(s) - 2)
    n = split(s, parts, "''")
    out = parts[1]
    for (i = 2; i <= n; i++) out = out "'" parts[i]
    return out
  }
  if (s !~ /^"/) { sub(/[ \t]+$/, "", s); return s }
  s = substr(s, 2, length(s) - 2)
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c != "\\") { out = out c; continue }
    c = substr(s, ++i, 1)
    if (c == "n") out = out "\n"
    else if (c == "t") out = out "\t"
    else if (c == "r") out = out "\r"
    else if (c == "e") out = out "\033"
    else if (c == "a") out = out "\007"
    else if (c == "b") out = out "\010"
    else if (c == "f") out = out "\014"
    else if (c == "v") out = out "\013"
    else if (c == "0") continue # a shell word cannot hold NUL
    else if (c == "N") out = out utf8(133)
    else if (c == "_") out = out utf8(160)
    else if (c == "L") out = out utf8(8232)
    else if (c == "P") out = out utf8(8233)
    else if (c == "x") { out = out utf8(hex(substr(s, i + 1, 2))); i += 2 }
    else if (c == "u") { out = out utf8(hex(substr(s, i + 1, 4))); i += 4 }
    else if (c == "U") { out = out utf8(hex(substr(s, i + 1, 8))); i += 8 }
    else out = out c
  }
  return out
}

function hex(h,   v, i) {
  v = 0
  for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
  return v
}

function utf8(c) {
  if (c == 0) return ""
  if (c < 128) return sprintf("%c", c)
  if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
  if (c < 65536) return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
  return sprintf("%c%c%c%c", 240 + int(c / 262144), 128 + int(c / 4096) % 64, 128 + int(c / 64) % 64, 128 + c % 64)
}

# Single-quoted for the shell.
function q(s,   n, i, out) {
  n = split(s, parts, "'")
  out = parts[1]
  for (i = 2; i <= n; i++) out = out "'\\''" parts[i]
  return "'" out "'"
}

# The open nodes: indentation and name (a key, or an item's index) per depth.
function pop(n) { while (depth > 0 && ind[depth] >= n) depth-- }
function push(n, name) { ind[++depth] = n; nm[depth] = name }
function path(   p, i) { p = doc; for (i = 1; i <= depth; i++) p = p "." nm[i]; return p }

FNR == 1 { doc = FILENAME; sub(/.*\//, "", doc); depth = 0 }
/^[ \t]*(#|$)/ { next }
{
  match($0, /^ */)
  n = RLENGTH
  c = substr($0, n + 1)
  # Sequence items, nested ones on one line (`- - /dev/vda`): each is the next index of its parent.
  while (c ~ /^-( |$)/) {
    pop(n)
    p = path()
    push(n, count[p]++)
    c = substr(c, 3)
    n += 2
  }
  if (c ~ /^[A-Za-z0-9_-]+:( |$)/) {
    k = substr(c, 1, index(c, ":") - 1)
    c = substr(c, length(k) + 3)
    pop(n)
    push(n, k)
    if (doc == "network-config" && depth == 2 && nm[1] == "ethernets") nics[++nnic] = nm[2]
  }
  if (c != "" && c !~ /^(\[\]|\{\})$/) v[path()] = scalar(c)
}

END {
  if ("meta-data.local-hostname" in v) print "zos_hostname " q(v["meta-data.local-hostname"])
  for (i = 1; i <= nnic; i++) {
    e = "network-config.ethernets." nics[i]
    mac = q(v[e ".match.macaddress"])
    print "zos_nic " mac
    for (j = 0; (e ".addresses." j) in v; j++) print "zos_addr " mac " " q(v[e ".addresses." j])
    if ((e ".gateway4") in v) print "zos_route " mac " '0.0.0.0/0' " q(v[e ".gateway4"])
    if ((e ".gateway6") in v) print "zos_route " mac " '::/0' " q(v[e ".gateway6"])
    for (j = 0; (e ".routes." j ".to") in v; j++) print "zos_route " mac " " q(v[e ".routes." j ".to"]) " " q(v[e ".routes." j ".via"])
    for (j = 0; (e ".nameservers.addresses." j) in v; j++) dns = dns " " q(v[e ".nameservers.addresses." j])
  }
  if (dns != "") print "zos_dns" dns
  # zos makes one user, root, with the SSH_KEY keys.
  for (u = 0; ("user-data.users." u ".name") in v; u++) {
    if (v["user-data.users." u ".name"] != "root") continue
    keys = ""
    for (j = 0; ("user-data.users." u ".ssh_authorized_keys." j) in v; j++) keys = keys " " q(v["user-data.users." u ".ssh_authorized_keys." j])
    if (keys != "") print "zos_ssh_keys" keys
  }
  for (m = 0; ("user-data.mounts." m ".0") in v; m++) {
    e = "user-data.mounts." m
    print "zos_mount " q(v[e ".0"]) " " q(v[e ".1"]) " " q(v[e ".2"]) " " q(v[e ".3"])
  }
}
