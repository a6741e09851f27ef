// The demo storefront's cart page (/support/cart): what "Add to cart" kept in this
// browser, and a button to empty it.

import { SHOP_NAME, cartItems, clearCart, productBySlug, setUpPage } from './shop';

function render(): void {
  const list = document.getElementById('cart-items');
  const total = document.getElementById('cart-total');
  if (!list || !total) return;
  list.replaceChildren();
  let sum = 0;
  for (const slug of cartItems()) {
    const product = productBySlug(slug);
    if (!product) continue;
    sum += product.price;
    const li = document.createElement('li');
    li.textContent = `${product.name} — $${product.price}`;
    list.append(li);
  }
  if (!list.childElementCount) {
    const li = document.createElement('li');
    li.textContent = 'Your cart is empty.';
    list.append(li);
  }
  total.textContent = `$${sum}`;
}

document.title = `Your cart — ${SHOP_NAME}`;
setUpPage();
render();
document.getElementById('empty-cart')?.addEventListener('click', () => {
  clearCart();
  render();
});

export {};
