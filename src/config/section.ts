import type { z } from 'zod';

/*
 * The one shape of a config section. A section owns a few environment
 * settings: their zod fields, their documentation (docs/reference/
 * configuration.md is generated from it), the checks across settings, and the
 * part of Config it builds. loadConfig merges every section's fields into one
 * schema, runs every check, and builds every part, in the order of its list.
 */

/** The environment as given, empty values dropped. */
export type RawSettings = Readonly<Record<string, string>>;

/** The parsed values of some fields. */
export type Parsed<Fields extends z.ZodRawShape> = z.output<z.ZodObject<Fields>>;

/** What a section's check reads. */
export interface CheckInput<Settings> {
  /** Checks that read the raw values are reported even when another setting is malformed: every problem in one go. */
  readonly raw: RawSettings;
  /** The parsed settings; absent when any setting is malformed. */
  readonly parsed?: Settings;
}

/** Values derived from settings that other sections build on. */
export interface SectionContext {
  /** Folder for local state: the SQLite file's folder, or ./data (see the database section). */
  readonly dataDir: string;
  /** The environment as given (empty values dropped): for settings whose names are made from other settings (`OIDC_<NAME>_ISSUER`). */
  readonly raw: RawSettings;
}

/** A setting's entry in the configuration reference. */
export interface SettingDoc {
  /** Markdown: what the setting does, its range, its interplay with others. */
  readonly description: string;
  /** Markdown, for a default that is not one literal value (computed, or none); otherwise the field's own default is shown. */
  readonly default?: string;
}

/**
 * A config section. `Reads` names the settings of other sections that its
 * check or build reads (e.g. `{ NODE_ENV: NodeEnv }`), so such ties are typed
 * and visible.
 */
export interface ConfigSection<Fields extends z.ZodRawShape, Part extends object, Reads extends object = object> {
  /** The heading of the section in the configuration reference. */
  readonly title: string;
  /** Markdown shown under the heading, before the table. */
  readonly notes?: string;
  /** The settings, by environment variable name. A transformed setting's default is written as an operator would (`.prefault('15m')`). */
  readonly fields: Fields;
  /** Every setting's reference entry: a description, or a description and a default. */
  readonly docs: { readonly [Name in keyof Fields]: string | SettingDoc };
  /** Problems across settings, each one line naming the settings involved. */
  readonly check?: (input: CheckInput<Parsed<Fields> & Reads>) => readonly string[];
  /** The section's part of Config, frozen; called only when no problem was found. */
  readonly build: (parsed: Parsed<Fields> & Reads, context: SectionContext) => Part;
}
