import { waitOutput, type Lab, type LabHost } from './lab.ts';

/**
 * A tiny authoritative DNS server (UDP) inside a lab host: A records from `records`
 * (name -> IPv4s); a known name without A records answers NOERROR/empty (AAAA), an unknown one
 * NXDOMAIN. Enough for a node's resolver (gateway FQDN checks). Stopped by lab.close().
 */
export async function startLabDns(lab: Lab, host: LabHost, records: Record<string, string[]>, port = 53): Promise<string> {
  const code = `
    const d = require('dgram').createSocket('udp4'), recs = JSON.parse(process.argv[1]);
    d.on('message', (m, r) => {
      let i = 12; const labels = [];
      while (m[i]) { labels.push(m.subarray(i + 1, i + 1 + m[i]).toString()); i += m[i] + 1; }
      const qtype = m.readUInt16BE(i + 1), name = labels.join('.').toLowerCase(), known = name in recs;
      const ips = qtype === 1 && known ? recs[name] : [];
      const h = Buffer.from(m.subarray(0, 12));
      h.writeUInt16BE(0x8180 | (known ? 0 : 3), 2); h.writeUInt16BE(1, 4); h.writeUInt16BE(ips.length, 6); h.writeUInt32BE(0, 8);
      const answers = ips.map((ip) => Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ...ip.split('.').map(Number)]));
      d.send(Buffer.concat([h, m.subarray(12, i + 5), ...answers]), r.port, r.address);
    });
    d.bind(${port}, '${host.ip}', () => console.log('ready'));`;
  const p = lab.spawn(host, process.execPath, ['-e', code, JSON.stringify(records)]);
  await waitOutput(p, /ready/);
  return `${host.ip}:${port}`;
}
