import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  addressProblem,
  callbackUrlProblem,
  envCallbackAllowList,
  formatIp,
  loadConfig,
  parseAllowEntry,
  parseIp,
  specialKind,
} from '../src/index.js';

const kind = (address: string) => specialKind(parseIp(address)!);

describe('IP addresses', () => {
  it('parses every IPv6 spelling to the same 16 bytes as its IPv4 form when mapped', () => {
    for (const [a, b] of [
      ['127.0.0.1', '::ffff:127.0.0.1'],
      ['127.0.0.1', '::ffff:7f00:1'],
      ['::1', '0:0:0:0:0:0:0:1'],
      ['fe80::1', 'fe80:0:0:0:0:0:0:1'],
    ]) {
      expect(formatIp(parseIp(a!)!), `${a} = ${b}`).toBe(formatIp(parseIp(b!)!));
    }
    expect(formatIp(parseIp('2001:db8:0:0:1:0:0:1')!)).toBe('2001:db8::1:0:0:1');
    for (const bad of ['1.2.3', '256.1.1.1', 'fe80::1%eth0', 'localhost', '', ':::'])
      expect(parseIp(bad), bad).toBeUndefined();
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (incl. cloud metadata)'],
    ['::ffff:169.254.169.254', 'link-local (incl. cloud metadata)'],
    ['64:ff9b::a9fe:a9fe', 'link-local (incl. cloud metadata)'], // NAT64 of 169.254.169.254
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['fd00::2', 'unique-local'],
    ['fc12::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved (incl. broadcast)'],
    ['ff02::1', 'multicast'],
  ])('%s is %s', (address, expected) => {
    expect(kind(address)).toBe(expected);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => {
    expect(kind(address)).toBeUndefined();
  });
});

describe('CALLBACK_ALLOWED_HOSTS entries', () => {
  it.each([
    ['hooks.example.com', { kind: 'name', host: 'hooks.example.com' }],
    ['Hooks.Example.com:8443', { kind: 'name', host: 'hooks.example.com', port: 8443 }],
    ['127.0.0.1', { kind: 'range', range: expect.objectContaining({ bits: 128 }) }],
    ['127.0.0.1:9000', { kind: 'range', port: 9000 }],
    ['10.0.0.0/8', { kind: 'range', range: expect.objectContaining({ bits: 104 }) }],
    ['10.0.0.0/8:8080', { kind: 'range', port: 8080 }],
    ['::1', { kind: 'range', range: expect.objectContaining({ bits: 128 }) }],
    ['[::1]:8080', { kind: 'range', port: 8080 }],
    ['fc00::/7', { kind: 'range', range: expect.objectContaining({ bits: 7 }) }],
    ['[fc00::/7]:443', { kind: 'range', port: 443 }],
  ])('%s parses', (entry, expected) => {
    expect(parseAllowEntry(entry)).toMatchObject(expected);
  });

  it('reports every bad entry at start-up', () => {
    const schema = z.object({ CALLBACK_ALLOWED_HOSTS: envCallbackAllowList().default([]) });
    let message = '';
    try {
      loadConfig(schema, { CALLBACK_ALLOWED_HOSTS: 'ok.example.com,10.0.0.0/33,host:99999,bad host,[::1' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/10\.0\.0\.0\/33/);
    expect(message).toMatch(/host:99999.*port/);
    expect(message).toMatch(/bad host/);
    expect(message).toMatch(/\[::1/);
  });
});

describe('callbackUrlProblem (job creation and delivery)', () => {
  const allowed = ['hooks.example.com', 'local.test:9000', '127.0.0.1:8080', '10.0.0.0/8', '[::1]:8081'];
  it.each([
    ['https://hooks.example.com/x', true],
    ['https://HOOKS.example.com./x', true],
    ['http://local.test:9000/x', true],
    ['http://local.test:9001/x', false],
    ['http://127.0.0.1:8080/x', true],
    ['http://2130706433:8080/x', true], // the listed address spelled in decimal
    ['http://127.0.0.1:8081/x', false],
    ['http://10.20.30.40/x', true],
    ['http://[::ffff:10.20.30.40]/x', true], // the mapped spelling of an address in a listed range
    ['http://[::1]:8081/x', true],
    ['http://[::1]:8080/x', false],
    ['http://169.254.169.254/latest/meta-data', false],
    ['http://evil.example.com/x', false],
    ['http://user:pw@hooks.example.com/x', false],
    ['ftp://hooks.example.com/x', false],
  ])('%s -> %s', (url, ok) => {
    expect(callbackUrlProblem(url, allowed) === undefined).toBe(ok);
  });
});

describe('addressProblem (every address a callback resolves to, at delivery)', () => {
  it('lets public addresses through and refuses special ones the list does not name', () => {
    expect(addressProblem('93.184.216.34', 443, ['hooks.example.com'])).toBeUndefined();
    const problem = addressProblem('169.254.169.254', 80, ['hooks.example.com']);
    expect(problem).toMatch(/169\.254\.169\.254 \(link-local \(incl\. cloud metadata\)\)/);
    expect(problem).toMatch(/CALLBACK_ALLOWED_HOSTS/);
    expect(addressProblem('::ffff:127.0.0.1', 80, ['localhost'])).toMatch(/127\.0\.0\.1 \(loopback\)/);
    expect(addressProblem('::1', 80, ['localhost'])).toMatch(/::1 \(loopback\)/);
  });

  it('allows a special address only when an address or range entry covers it (and its port, if given)', () => {
    expect(addressProblem('127.0.0.1', 9000, ['localhost', '127.0.0.1'])).toBeUndefined();
    expect(addressProblem('127.0.0.5', 9000, ['127.0.0.0/8'])).toBeUndefined();
    expect(addressProblem('::ffff:127.0.0.1', 9000, ['127.0.0.1'])).toBeUndefined();
    expect(addressProblem('127.0.0.1', 9000, ['127.0.0.1:9000'])).toBeUndefined();
    expect(addressProblem('127.0.0.1', 9001, ['127.0.0.1:9000'])).toMatch(/loopback/);
    expect(addressProblem('10.1.1.1', 80, ['10.0.0.0/8'])).toBeUndefined();
    expect(addressProblem('10.1.1.1', 80, ['192.168.0.0/16'])).toMatch(/private/);
    expect(addressProblem('fd12::1', 443, ['fc00::/7'])).toBeUndefined();
    // A name entry never unlocks an address, even "localhost".
    expect(addressProblem('127.0.0.1', 80, ['localhost'])).toMatch(/loopback/);
  });
});
