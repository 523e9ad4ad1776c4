import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { RuleSource } from '../../src/daemon/rules-source';
import { createLogger } from '../../src/shared/log';
import { tempDir } from './helpers';

const rule = (id: string, message: string) => `id: ${id}\ntrigger: { every: 1m }\nactions:\n  - log: { message: "${message}" }\n`;

/** A rule source over a fresh folder, with the messages it logs. */
function source(files: Record<string, string>) {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const lines: Array<{ msg: string } & Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as { msg: string });
      done();
    },
  });
  const rules = new RuleSource({ rulesDir: dir, logger: createLogger({ destination: stream }) });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(dir, name), text);
  const messageOf = (id: string) => {
    const found = rules.snapshot.rules.find((loaded) => loaded.rule.id === id);
    const action = found?.rule.actions[0] as { log: { message: string } } | undefined;
    return action?.log.message;
  };
  return { dir, rules, write, messageOf, lines };
}

describe('RuleSource', () => {
  it('loads valid rules and leaves invalid ones out at start, with their problems', () => {
    const { rules, lines } = source({ 'a.yaml': rule('a', 'one'), 'b.yaml': 'id: b\ntrigger: { cron: "nope" }\nactions:\n  - log: { message: x }\n' });
    const changes = rules.load();
    assert.deepEqual(changes.added, ['a']);
    assert.deepEqual(changes.keptPrevious, []);
    assert.deepEqual(rules.snapshot.rules.map((loaded) => loaded.rule.id), ['a']);
    assert.equal(rules.snapshot.invalidDocuments, 1);
    assert.equal(rules.snapshot.problems[0]?.line, 2);
    assert.ok(lines.some((line) => line.msg.startsWith('rule problem: ') && String(line.at).endsWith('b.yaml:2:18')), JSON.stringify(lines));
  });

  it('swaps in a changed rule, keeps an unchanged one as it was, and drops a removed one', () => {
    const { dir, rules, write, messageOf } = source({ 'a.yaml': rule('a', 'one'), 'b.yaml': rule('b', 'same'), 'c.yaml': rule('c', 'gone soon') });
    rules.load();
    const before = rules.snapshot.rules.find((loaded) => loaded.rule.id === 'b');
    write('a.yaml', rule('a', 'two'));
    fs.rmSync(path.join(dir, 'c.yaml'));
    const changes = rules.reload();
    assert.deepEqual(changes, { added: [], changed: ['a'], removed: ['c'], unchanged: ['b'], keptPrevious: [] });
    assert.equal(messageOf('a'), 'two');
    assert.equal(rules.snapshot.rules.find((loaded) => loaded.rule.id === 'b')?.hash, before?.hash);
  });

  it('keeps the previous version of a rule whose edit is invalid, found by id or by its place', () => {
    const { rules, write, messageOf, lines } = source({ 'a.yaml': rule('a', 'one'), 'b.yaml': rule('b', 'one') });
    rules.load();
    // A schema mistake: the id is still readable.
    write('a.yaml', `${rule('a', 'two')}colour: blue\n`);
    // A YAML syntax error: no id to read, the document's place says which rule it was.
    write('b.yaml', 'id: b\ntrigger: { every: 1m\nactions: [\n');
    const changes = rules.reload();
    assert.deepEqual(changes.keptPrevious.sort(), ['a', 'b']);
    assert.equal(messageOf('a'), 'one');
    assert.equal(messageOf('b'), 'one');
    assert.ok(rules.snapshot.problems.length >= 2);
    assert.equal(lines.filter((line) => line.msg === 'the edited rule is invalid; its previous version keeps running').length, 2);

    // Fixed: the new version swaps in and the problems are gone.
    write('a.yaml', rule('a', 'three'));
    write('b.yaml', rule('b', 'three'));
    rules.reload();
    assert.equal(messageOf('a'), 'three');
    assert.equal(messageOf('b'), 'three');
    assert.deepEqual(rules.snapshot.problems, []);
  });

  it('does not keep a rule whose id another valid rule now holds', () => {
    const { rules, write } = source({ 'a.yaml': rule('a', 'one'), 'z.yaml': rule('z', 'one') });
    rules.load();
    // z.yaml now repeats the id a: the later file is left out as a duplicate, and z is gone.
    write('z.yaml', rule('a', 'duplicate'));
    const changes = rules.reload();
    assert.deepEqual(changes.keptPrevious, []);
    assert.deepEqual(changes.removed, ['z']);
    assert.deepEqual(rules.snapshot.rules.map((loaded) => loaded.rule.id), ['a']);
  });

  it('keeps every rule when the folder cannot be read for a moment', () => {
    const { dir, rules } = source({ 'a.yaml': rule('a', 'one') });
    rules.load();
    const moved = `${dir}-moved`;
    fs.renameSync(dir, moved);
    try {
      const changes = rules.reload();
      assert.deepEqual(changes.keptPrevious, ['a']);
      assert.deepEqual(rules.snapshot.rules.map((loaded) => loaded.rule.id), ['a']);
      assert.equal(rules.snapshot.problems[0]?.code, 'RULES_UNREADABLE');
    } finally {
      fs.renameSync(moved, dir);
    }
  });
});
