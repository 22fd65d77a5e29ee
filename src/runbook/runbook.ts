import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import { DrillError, UsageError } from '../errors/drill-error.ts';

/** Separator between heading levels in a section title: `Database Restore › Restore from Custom Format Dump`. */
export const SECTION_SEPARATOR = ' › ';

/** Fence languages run by bash. A fence without a language counts too: the runbook's crontab line has none. */
export const SHELL_LANGS: readonly string[] = ['bash', 'sh', 'shell', 'zsh', 'console'];

export interface Block {
  sectionTitle: string;
  sectionPath: string[];
  /** 0-based within its section title (counting continues if the same title appears twice, so the key stays unique). */
  index: number;
  lang: string | null;
  /** 1-based line of the opening fence. */
  line: number;
  /** Exact code content (the fence's indentation inside list items removed, as CommonMark defines it). */
  text: string;
  /** Hex sha256 of `text` (UTF-8). */
  sha256: string;
  /** Plain text of the first paragraph of the enclosing list item: `1. **Clone the repository**` -> `Clone the repository`. */
  listItem?: string;
}

/** A GFM task-list item (`- [ ] ...`). */
export interface ChecklistItem {
  sectionTitle: string;
  /** Plain text of the item's first paragraph (inline code and links reduced to their text). */
  text: string;
  line: number;
  checked: boolean;
  /** Plain text of the enclosing list item's first paragraph, e.g. `Verify recovery` for the DR verification items. */
  parentItem?: string;
}

export interface Section {
  /** Heading path from level 2 down; the H1 is the document title and not part of it. */
  path: string[];
  /** `path.join(' › ')` */
  title: string;
  line: number;
  blocks: Block[];
  checklist: ChecklistItem[];
}

export interface Runbook {
  path: string;
  /** Hex sha256 of the file bytes. */
  sha256: string;
  sections: Section[];
  /** All blocks, in document order. */
  blocks: Block[];
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isShellBlock(block: Block): boolean {
  return block.lang === null || SHELL_LANGS.includes(block.lang.toLowerCase());
}

export function sectionTitleOf(path: readonly string[]): string {
  return path.join(SECTION_SEPARATOR);
}

export function parseRunbook(source: string, path: string): Runbook {
  // micromark drops a BOM, so node offsets only line up with the text without it.
  const markdown = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const tree: Root = fromMarkdown(markdown, {
    extensions: [gfm()],
    mdastExtensions: [gfmFromMarkdown()],
  });

  const sections: Section[] = [];
  const blocks: Block[] = [];
  const headingStack: { depth: number; title: string }[] = [];
  // Content before the first H2 (under the H1 only) gets a section with an empty path, created on demand.
  let current: Section | undefined;
  const nextIndex = new Map<string, number>();

  const currentSection = (line: number): Section => {
    if (!current) {
      current = { path: [], title: '', line, blocks: [], checklist: [] };
      sections.push(current);
    }
    return current;
  };

  // ancestors: nearest last, used to find the enclosing list item.
  const visit = (node: Nodes, ancestors: Nodes[]): void => {
    switch (node.type) {
      case 'heading': {
        const line = lineOf(node);
        if (node.depth === 1) {
          headingStack.length = 0;
          current = undefined;
          return;
        }
        while (headingStack.length > 0 && headingStack[headingStack.length - 1]!.depth >= node.depth) headingStack.pop();
        headingStack.push({ depth: node.depth, title: plainText(node) });
        const sectionPath = headingStack.map((h) => h.title);
        current = { path: sectionPath, title: sectionTitleOf(sectionPath), line, blocks: [], checklist: [] };
        sections.push(current);
        return;
      }
      case 'code': {
        // Indented code blocks are also `code` nodes; only fences are blocks (a fence node starts at its ``` or ~~~).
        const first = markdown.charAt(node.position?.start.offset ?? -1);
        if (first !== '`' && first !== '~') return;
        const line = lineOf(node);
        const section = currentSection(line);
        const index = nextIndex.get(section.title) ?? 0;
        nextIndex.set(section.title, index + 1);
        const block: Block = {
          sectionTitle: section.title,
          sectionPath: [...section.path],
          index,
          lang: node.lang ?? null,
          line,
          text: node.value,
          sha256: sha256Hex(node.value),
        };
        const item = firstParagraphText(nearestListItem(ancestors));
        if (item !== undefined) block.listItem = item;
        section.blocks.push(block);
        blocks.push(block);
        return;
      }
      case 'listItem': {
        if (typeof node.checked === 'boolean') {
          const line = lineOf(node);
          const section = currentSection(line);
          const entry: ChecklistItem = {
            sectionTitle: section.title,
            text: firstParagraphText(node) ?? '',
            line,
            checked: node.checked,
          };
          const parent = firstParagraphText(nearestListItem(ancestors));
          if (parent !== undefined) entry.parentItem = parent;
          section.checklist.push(entry);
        }
        break;
      }
      default:
        break;
    }
    if ('children' in node) {
      const chain = [...ancestors, node];
      for (const child of node.children) visit(child as Nodes, chain);
    }
  };

  visit(tree, []);
  return { path, sha256: sha256Hex(Buffer.from(source, 'utf8')), sections, blocks };
}

export async function loadRunbook(path: string): Promise<Runbook> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UsageError(`runbook not found: ${path} (no such file)`, {
        fix: 'pass the path of the runbook Markdown file, e.g. runbook/backup-restore.md, and run from the project root',
        cause: error,
      });
    }
    if (code === 'EISDIR') {
      throw new UsageError(`runbook path is a directory, not a Markdown file: ${path}`, {
        fix: 'pass the runbook file itself, e.g. runbook/backup-restore.md',
        cause: error,
      });
    }
    throw new DrillError(`cannot read runbook ${path}: ${(error as Error).message}`, {
      fix: 'check the file permissions and that the path is readable',
      cause: error,
    });
  }
  const runbook = parseRunbook(bytes.toString('utf8'), path);
  // The file bytes are what git and the lock pin; a BOM or invalid UTF-8 must not be hidden by decoding.
  runbook.sha256 = sha256Hex(bytes);
  if (runbook.blocks.length === 0) {
    throw new UsageError(`runbook ${path} has no fenced code blocks, so there is nothing to drill`, {
      fix: 'point the drill at the runbook whose procedures are written as ``` fenced shell blocks',
    });
  }
  return runbook;
}

export function findBlock(runbook: Runbook, sectionTitle: string, index: number): Block | undefined {
  return runbook.blocks.find((b) => b.sectionTitle === sectionTitle && b.index === index);
}

function lineOf(node: Nodes): number {
  return node.position?.start.line ?? 0;
}

function nearestListItem(ancestors: readonly Nodes[]): Nodes | undefined {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    if (ancestors[i]!.type === 'listItem') return ancestors[i];
  }
  return undefined;
}

function firstParagraphText(item: Nodes | undefined): string | undefined {
  if (!item || item.type !== 'listItem') return undefined;
  const first = item.children[0];
  if (!first || first.type !== 'paragraph') return undefined;
  return plainText(first);
}

/** Text content with markup removed and whitespace collapsed (soft line breaks become spaces). */
function plainText(node: Nodes): string {
  const parts: string[] = [];
  const collect = (n: Nodes): void => {
    if (n.type === 'image' || n.type === 'imageReference') parts.push(n.alt ?? '');
    else if ('value' in n && typeof n.value === 'string') parts.push(n.value);
    else if (n.type === 'break') parts.push(' ');
    if ('children' in n) for (const child of n.children) collect(child as Nodes);
  };
  collect(node);
  return parts.join('').replace(/\s+/g, ' ').trim();
}
