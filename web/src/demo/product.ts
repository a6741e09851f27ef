// The demo storefront's product page (/support/product/{slug}). "You may also like"
// switches product without a page load (history.pushState, as a single-page app does),
// so the widget's page reporting of single-page navigation is exercised; Back and
// Forward (popstate) switch it back.

import { PRODUCTS, SHOP_NAME, productBySlug, setUpPage } from './shop';

const PATH_PREFIX = '/support/product/';

function slugOf(path: string): string {
  return path.startsWith(PATH_PREFIX) ? decodeURIComponent(path.slice(PATH_PREFIX.length)) : '';
}

function render(slug: string): void {
  const product = productBySlug(slug);
  const main = document.getElementById('product');
  const related = document.getElementById('related');
  if (!main || !related) return;
  main.replaceChildren();
  related.replaceChildren();
  if (!product) {
    document.title = `Product not found — ${SHOP_NAME}`;
    const h1 = document.createElement('h1');
    h1.textContent = 'Product not found';
    main.append(h1);
    return;
  }
  document.title = `${product.name} — ${SHOP_NAME}`;
  const swatch = document.createElement('div');
  swatch.className = 'shop-swatch shop-swatch-large';
  swatch.style.background = product.colour;
  const h1 = document.createElement('h1');
  h1.textContent = product.name;
  const blurb = document.createElement('p');
  blurb.textContent = product.blurb;
  const price = document.createElement('p');
  price.className = 'shop-price';
  price.textContent = `$${product.price}`;
  const add = document.createElement('button');
  add.type = 'button';
  add.className = 'shop-add';
  add.dataset.add = product.slug;
  add.textContent = `Add ${product.name} to cart`;
  main.append(swatch, h1, blurb, price, add);
  for (const other of PRODUCTS.filter((p) => p.slug !== product.slug)) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = `${PATH_PREFIX}${other.slug}`;
    a.textContent = other.name;
    a.dataset.spa = '';
    li.append(a);
    related.append(li);
  }
}

document.addEventListener('click', (e) => {
  const link = e.target instanceof Element ? e.target.closest<HTMLAnchorElement>('a[data-spa]') : null;
  if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  const url = new URL(link.href);
  history.pushState({ slug: slugOf(url.pathname) }, '', url.pathname);
  render(slugOf(url.pathname));
  window.scrollTo(0, 0);
});
window.addEventListener('popstate', () => render(slugOf(location.pathname)));

setUpPage();
render(slugOf(location.pathname));

export {};
