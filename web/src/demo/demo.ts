// The demo storefront's home page (/support): the catalogue, a cart counter, and a "Chat
// with us" button that uses the widget's global API (window.LiveSupport), as a real
// shop would. Each product links to its own page (/support/product/{slug}).

import { setUpPage } from './shop';

setUpPage();

export {};
