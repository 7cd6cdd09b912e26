// DNS messages on the wire, through dns-packet (a small, widely used encoder/decoder of RFC 1035
// messages with EDNS0 OPT support): decoding queries, and encoding replies the way CoreDNS sizes
// them — the reply mirrors the query's EDNS0 (its UDP size, version 0, the DO bit), a UDP reply
// holds at most the client's advertised size (512 without EDNS0) and is truncated as miekg/dns's
// Msg.Truncate does: as many answer, then authority, then additional records as fit, with TC set
// when an answer or authority record had to go.
//
// dns-packet encodes names without compression, so a reply is larger than CoreDNS's and fewer
// records fit in 512 bytes before TC; clients then retry over TCP.
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Question } from 'dns-packet';
import type { Rcode } from './resolve.ts';

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 };
const OPCODES: Record<string, number> = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 };

export const MIN_UDP_SIZE = 512;
export const MAX_TCP_SIZE = 65535;

export interface ParsedQuery {
  id: number;
  /** The header's opcode (QUERY = 0). */
  opcode: number;
  rd: boolean;
  cd: boolean;
  questions: Question[];
  /** Present when the query carries an OPT record. */
  edns?: { udpSize: number; version: number; do: boolean };
}

/** Decodes a query; throws on a message that does not parse (the caller answers FORMERR if it can). */
export function parseQuery(buf: Buffer): ParsedQuery {
  const p = dnsPacket.decode(buf) as DecodedPacket & { opcode?: string };
  const opt = (p.additionals ?? []).find((a): a is OptAnswer => a.type === 'OPT');
  return {
    id: p.id ?? 0,
    opcode: OPCODES[p.opcode ?? 'QUERY'] ?? 15,
    rd: p.flag_rd,
    cd: p.flag_cd,
    questions: p.questions ?? [],
    edns: opt ? { udpSize: opt.udpPayloadSize, version: opt.ednsVersion, do: opt.flag_do } : undefined,
  };
}

/** The id and opcode of a message too broken to decode, when at least its header is there. */
export function headerOf(buf: Buffer): { id: number; flags: number } | undefined {
  return buf.length >= 12 ? { id: buf.readUInt16BE(0), flags: buf.readUInt16BE(2) } : undefined;
}

/** The most a reply may hold: TCP 64 KiB, UDP the client's EDNS0 size, never below 512. */
export function maxReplySize(proto: 'udp' | 'tcp', q: ParsedQuery | undefined): number {
  if (proto === 'tcp') return MAX_TCP_SIZE;
  return Math.max(MIN_UDP_SIZE, q?.edns?.udpSize ?? 0);
}

export interface ReplyParts {
  rcode: Rcode | 'FORMERR' | 'NOTIMP' | 'BADVERS';
  authoritative: boolean;
  recursionAvailable?: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

// dns-packet's per-record encoder (not in its type declarations)
const recordLength = (dnsPacket as unknown as { answer: { encodingLength(a: Answer): number } }).answer.encodingLength;

function optRecord(q: ParsedQuery, extendedRcode: number): OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: q.edns!.udpSize,
    extendedRcode,
    ednsVersion: 0,
    flags: q.edns!.do ? dnsPacket.DNSSEC_OK : 0,
    flag_do: q.edns!.do,
    options: [],
  };
}

/**
 * Encodes a reply to `q` within `maxSize` bytes. Answers keep the question as asked (its case
 * included). Answers: `truncated` tells whether TC was set.
 */
export function encodeReply(q: ParsedQuery, parts: ReplyParts, maxSize: number): { buf: Buffer; truncated: boolean } {
  const rcode = RCODES[parts.rcode] ?? 2;
  const opt = q.edns ? optRecord(q, rcode >> 4) : undefined;
  let answers = parts.answers;
  let authorities = parts.authorities;
  let additionals = parts.additionals;
  let truncated = false;
  const full = { questions: q.questions, answers, authorities, additionals: opt ? [...additionals, opt] : additionals };
  if (dnsPacket.encodingLength(full) > maxSize) {
    let room = maxSize - 12 - (opt ? recordLength(opt) : 0);
    for (const qq of q.questions) room -= dnsPacket.encodingLength({ questions: [qq] }) - 12;
    const fit = (list: Answer[]): Answer[] => {
      const out: Answer[] = [];
      for (const r of list) {
        const n = recordLength(r);
        if (n > room) break;
        room -= n;
        out.push(r);
      }
      return out;
    };
    const a = fit(answers);
    const ns = a.length === answers.length ? fit(authorities) : [];
    const ex = ns.length === authorities.length && a.length === answers.length ? fit(additionals) : [];
    truncated = a.length < answers.length || ns.length < authorities.length;
    answers = a;
    authorities = ns;
    additionals = ex;
  }
  let flags = (q.opcode << 11) | (rcode & 0xf);
  if (parts.authoritative) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (truncated) flags |= dnsPacket.TRUNCATED_RESPONSE;
  if (q.rd) flags |= dnsPacket.RECURSION_DESIRED;
  if (parts.recursionAvailable) flags |= dnsPacket.RECURSION_AVAILABLE;
  if (q.cd) flags |= dnsPacket.CHECKING_DISABLED;
  const buf = dnsPacket.encode({ id: q.id, type: 'response', flags, questions: q.questions, answers, authorities, additionals: opt ? [...additionals, opt] : additionals });
  return { buf, truncated };
}

/** A bare error reply to a message that did not decode (header only, the question left out). */
export function errorReplyFromHeader(h: { id: number; flags: number }, rcode: 'FORMERR' | 'NOTIMP' | 'SERVFAIL'): Buffer {
  const buf = Buffer.alloc(12);
  buf.writeUInt16BE(h.id, 0);
  // QR, the query's opcode and RD, the rcode
  buf.writeUInt16BE(0x8000 | (h.flags & 0x7900) | RCODES[rcode]!, 2);
  return buf;
}

/** Encodes a query (the forwarder's lookups, tests and the benchmark's client). */
export function encodeQuery(o: { id: number; name: string; type: string; rd?: boolean; udpSize?: number; do?: boolean }): Buffer {
  return dnsPacket.encode({
    id: o.id,
    type: 'query',
    flags: o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name: o.name, type: o.type as Question['type'], class: 'IN' }],
    additionals: o.udpSize ? [{ name: '.', type: 'OPT', udpPayloadSize: o.udpSize, extendedRcode: 0, ednsVersion: 0, flags: o.do ? dnsPacket.DNSSEC_OK : 0, flag_do: !!o.do, options: [] }] : [],
  });
}

export interface DecodedReply extends DecodedPacket {
  rcode?: string;
}

export function decodeMessage(buf: Buffer): DecodedReply {
  return dnsPacket.decode(buf) as DecodedReply;
}

/** Re-encodes a decoded message (the forward cache serves stored replies with aged TTLs). */
export function encodeMessage(p: DecodedReply): Buffer {
  return dnsPacket.encode(p);
}
