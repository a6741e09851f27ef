// The demo storefront's catalogue and cart (in this browser's localStorage), shared by
// its three pages: home (/support), a product (/support/product/{slug}) and the cart
// (/support/cart). A real shop's own code would do this; the widget knows none of it.

export interface Product {
  slug: string;
  name: string;
  blurb: string;
  price: number;
  colour: string;
}

export const PRODUCTS: readonly Product[] = [
  { slug: 'trail-backpack', name: 'Trail backpack', blurb: '28 L, rain cover included.', price: 89, colour: '#f59e0b' },
  { slug: 'hiking-boots', name: 'Hiking boots', blurb: 'Waterproof, all-day comfort.', price: 129, colour: '#10b981' },
  { slug: 'rain-jacket', name: 'Rain jacket', blurb: 'Packs into its own pocket.', price: 99, colour: '#6366f1' },
];

export const SHOP_NAME = 'Acme Outfitters';
const CART_KEY = 'acme-demo-cart';

export function productBySlug(slug: string): Product | undefined {
  return PRODUCTS.find((p) => p.slug === slug);
}

export function cartItems(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(CART_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && productBySlug(x) !== undefined) : [];
  } catch {
    return [];
  }
}

export function addToCart(slug: string): void {
  try {
    localStorage.setItem(CART_KEY, JSON.stringify([...cartItems(), slug]));
  } catch {
    // storage blocked: the demo cart just stays empty
  }
  showCartCount();
}

export function clearCart(): void {
  try {
    localStorage.removeItem(CART_KEY);
  } catch {
    // nothing kept
  }
  showCartCount();
}

export function showCartCount(): void {
  const counter = document.getElementById('cart-count');
  if (counter) counter.textContent = String(cartItems().length);
}

/** Wires what every page has: the cart count, "Add to cart" buttons and "Chat with us". */
export function setUpPage(): void {
  showCartCount();
  document.addEventListener('click', (e) => {
    const target = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-add]') : null;
    if (target?.dataset.add) addToCart(target.dataset.add);
  });
  document.getElementById('open-chat')?.addEventListener('click', () => window.LiveSupport?.open());
}
