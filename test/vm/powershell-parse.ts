// A PowerShell parser for tests, on a machine without PowerShell: the
// tree-sitter-powershell grammar (its prebuilt .wasm, shipped in the npm package)
// run by web-tree-sitter. It knows PowerShell's syntax, not its semantics, and
// has a few gaps of its own (a bare-word list such as `-Profile Domain, Public`,
// or `-gt 1MB`, come out as errors although PowerShell accepts them), so the
// scripts it checks spell those differently.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export type { Node, Tree };

let parser: Promise<Parser> | undefined;

function loadParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const grammarDir = dirname(require.resolve('tree-sitter-powershell/package.json'));
    const language = await Language.load(
      readFileSync(join(grammarDir, 'tree-sitter-powershell.wasm')),
    );
    const p = new Parser();
    p.setLanguage(language);
    return p;
  })();
  return parser;
}

export async function parsePowerShell(source: string): Promise<Tree> {
  const tree = (await loadParser()).parse(source);
  if (!tree) throw new Error('the PowerShell parser returned no tree');
  return tree;
}

/** Each ERROR or MISSING node, as "line:column KIND near <text>". Empty: it parses. */
export function syntaxProblems(tree: Tree): string[] {
  const problems: string[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      const { row, column } = node.startPosition;
      const kind = node.isMissing ? `MISSING ${node.type}` : 'ERROR';
      problems.push(
        `${row + 1}:${column + 1} ${kind} near ${JSON.stringify(node.text.slice(0, 60))}`,
      );
    }
    if (node.hasError || node.isMissing) for (const child of node.children) visit(child);
  };
  visit(tree.rootNode);
  return problems;
}

/** Every node of TYPE under ROOT, in source order. */
export function nodesOfType(root: Node, type: string): Node[] {
  return root.descendantsOfType(type).filter((n): n is Node => n !== null);
}
