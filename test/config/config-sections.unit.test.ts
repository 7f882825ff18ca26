import { describe, expect, it } from 'vitest';
import { CONFIG_SECTIONS } from '../../src/config/config.js';

describe('config sections', () => {
  // loadConfig merges the sections' fields into one schema with Object.assign:
  // a setting declared by two sections would silently lose one of its parsers.
  it('declare each setting once', () => {
    const names = CONFIG_SECTIONS.flatMap((section) => Object.keys(section.fields));
    expect(names.length).toBeGreaterThan(60);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it('document every setting with a description', () => {
    for (const section of CONFIG_SECTIONS) {
      for (const [name, doc] of Object.entries(section.docs)) {
        expect(typeof doc === 'string' ? doc : doc.description, `${name} (${section.title})`).toMatch(/\S/);
      }
    }
  });
});
