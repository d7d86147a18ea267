// Replies rendered as Markdown: markdown-it with raw HTML off (a model's <script>, <img onerror>
// or <style> stays text) and its link check (no javascript:, vbscript:, file: or data: links),
// no images (they would load from anywhere the model names), and code highlighted by
// highlight.js. Every file here comes from the gateway itself, and the CSP allows nothing else.
import markdownit from './vendor/markdown-it.js';
import hljs from './vendor/highlight/core.js';
import bash from './vendor/highlight/languages/bash.js';
import css from './vendor/highlight/languages/css.js';
import diff from './vendor/highlight/languages/diff.js';
import go from './vendor/highlight/languages/go.js';
import java from './vendor/highlight/languages/java.js';
import javascript from './vendor/highlight/languages/javascript.js';
import json from './vendor/highlight/languages/json.js';
import python from './vendor/highlight/languages/python.js';
import sql from './vendor/highlight/languages/sql.js';
import typescript from './vendor/highlight/languages/typescript.js';
import xml from './vendor/highlight/languages/xml.js';
import yaml from './vendor/highlight/languages/yaml.js';

for (const [name, language] of Object.entries({ bash, css, diff, go, java, javascript, json, python, sql, typescript, xml, yaml })) {
  hljs.registerLanguage(name, language);
}

const md = markdownit({
  html: false,
  linkify: true,
  highlight(code, language) {
    if (!language || !hljs.getLanguage(language)) return '';
    return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  },
}).disable('image');

// Links open in a new tab, without handing it this page (window.opener) or its address.
md.renderer.rules.link_open = (tokens, index, options, _env, self) => {
  tokens[index].attrSet('target', '_blank');
  tokens[index].attrSet('rel', 'noopener noreferrer');
  return self.renderToken(tokens, index, options);
};

// Table alignment as a class: markdown-it writes style="text-align", which the CSP refuses.
md.core.ruler.push('alignment_classes', (state) => {
  for (const token of state.tokens) {
    const style = token.attrGet('style');
    const align = /^text-align:(left|center|right)$/.exec(style ?? '')?.[1];
    if (!style) continue;
    token.attrs = token.attrs.filter(([name]) => name !== 'style');
    if (align) token.attrJoin('class', `align-${align}`);
  }
});

// A fenced block comes with a copy button; app.js handles its clicks.
const renderFence = md.renderer.rules.fence;
md.renderer.rules.fence = (tokens, index, options, env, self) => {
  const language = tokens[index].info.trim().split(/\s+/)[0];
  const label = md.utils.escapeHtml(language || 'text');
  return (
    `<div class="code-block"><div class="code-bar"><span class="code-language">${label}</span>` +
    `<button type="button" class="copy-code">Copy</button></div>${renderFence(tokens, index, options, env, self)}</div>`
  );
};

/**
 * Renders `text` into `container`, touching only the top-level blocks that changed: while a
 * reply streams in, the finished paragraphs and code blocks above stay the same nodes (no
 * flicker, a selection in them survives); only the block being written is replaced.
 */
export function renderMarkdown(container, text) {
  const template = document.createElement('template');
  template.innerHTML = md.render(text);
  const next = [...template.content.children];
  const current = [...container.children];
  next.forEach((node, index) => {
    if (!current[index]) container.append(node);
    else if (!current[index].isEqualNode(node)) current[index].replaceWith(node);
  });
  for (const stale of current.slice(next.length)) stale.remove();
}
