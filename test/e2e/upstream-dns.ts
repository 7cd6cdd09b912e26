// The upstream resolver of an end-to-end cluster: run by cluster.ts inside the fabric namespace on
// port 53, named by the nodes' --resolv-conf, so the cluster DNS forwards names outside the cluster
// here and never to the machine's resolver (DESIGN.md §8). Answers A records from a table; every
// other name is NXDOMAIN. Prints one line per question ("asked NAME TYPE"), so a test can see what
// was forwarded.
//
//   node upstream-dns.ts HOST '{"name.example": "172.31.0.1"}'
import { startStubResolver } from '../../src/dns/testing.ts';

const [host, tableJson] = process.argv.slice(2);
if (!host || !tableJson) {
  console.error('usage: upstream-dns.ts HOST TABLE_JSON');
  process.exit(2);
}
const records = JSON.parse(tableJson) as Record<string, string>;
const table = Object.fromEntries(Object.entries(records).map(([name, ip]) => [`${name.toLowerCase()} A`, [{ type: 'A' as const, name, ttl: 30, data: ip }]]));
// Names the table lacks are NXDOMAIN, as a real resolver answers a name that does not exist.
const stub = await startStubResolver(table, { host, port: 53, unknownIsNxdomain: true });
let seen = 0;
setInterval(() => {
  for (; seen < stub.asked.length; seen++) console.log(`asked ${stub.asked[seen]}`);
}, 50);
console.log(`upstream dns ready on ${host}:${stub.port}`);
process.on('SIGTERM', () => void stub.stop().then(() => process.exit(0)));
