// The demo storefront's own little script: a cart counter, and a "Chat with us" button
// that uses the widget's global API (window.LiveSupport), as a real shop would.

let count = 0;
const counter = document.getElementById('cart-count');
for (const button of document.querySelectorAll<HTMLButtonElement>('.shop-add')) {
  button.addEventListener('click', () => {
    count += 1;
    if (counter) counter.textContent = String(count);
  });
}
document.getElementById('open-chat')?.addEventListener('click', () => window.LiveSupport?.open());

export {};
