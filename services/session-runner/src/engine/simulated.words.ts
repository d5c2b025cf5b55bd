/** Word lists of the simulated account. Changing one changes every seed's account: append only. */

// [country code, mobile prefix, remaining digits]
export const PHONE_PLANS: readonly [string, string, number][] = [
  ['49', '17', 8], ['49', '15', 9], ['1', '415', 7], ['44', '7', 9], ['33', '6', 8],
  ['34', '6', 8], ['39', '3', 9], ['55', '11', 9], ['91', '9', 9], ['31', '6', 8],
];
export const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Elif', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kai', 'Lena',
  'Mateo', 'Nora', 'Omar', 'Paula', 'Quentin', 'Rosa', 'Sami', 'Tara', 'Umut', 'Vera', 'Wei', 'Yara', 'Zoe'];
export const LAST = ['Schmidt', 'Rossi', 'Dubois', 'García', 'Smith', 'Silva', 'Kaya', 'Novak', 'Jansen', 'Patel',
  'Müller', 'Costa', 'Nowak', 'Berg', 'Chen'];
export const GROUPS = ['Family', 'Football Sunday', 'Flat 3B', 'Book club', 'Team standup', 'Climbing crew',
  'Wedding planning', 'Parents class 2b', 'Road trip 🚐', 'Board games', 'Running club', 'Neighbours',
  'Birthday surprise 🎉', 'Study group', 'Ski weekend ⛷️', 'Old friends'];
export const PHRASES = ['Hey!', 'Are you coming tonight?', 'Sounds good 👍', 'I am on my way', 'Running 10 min late, sorry',
  'Did you see the news?', 'Haha 😂', 'Can you send me the address?', 'Thanks a lot!', 'See you tomorrow',
  'What time works for you?', 'Sure, no problem', 'Let me check and get back to you', 'Happy birthday! 🎂',
  'Call me when you can', 'That was fun', 'Where are we meeting?', 'ok', 'Good night 🌙', 'Love it ❤️',
  'Who is bringing the snacks?', 'I will be there at 7', 'Any updates?', 'Just landed ✈️'];
export const CAPTIONS = ['Look at this', 'View from the top', 'Dinner 🍝', 'Finally!', 'From yesterday', 'Guess where'];
/** Document names: all PDFs, so the simulated file's bytes (`%PDF-`) match its name and mimetype. */
export const FILES = ['invoice-2024-11.pdf', 'slides.pdf', 'tickets.pdf', 'budget.pdf', 'notes.pdf', 'contract.pdf'];
/** [name, latitude, longitude]. */
export const PLACES: readonly [string, number, number][] = [
  ['Alexanderplatz, Berlin', 52.521918, 13.413215], ['Café Central', 48.210334, 16.365349],
  ['Central Station', 52.378901, 4.900272], ['Parque del Retiro', 40.415260, -3.684416], ['Home', 51.507351, -0.127758],
];
export const LOCATION_BODIES = PLACES.map(([p]) => `📍 ${p}`);
export const EMOJIS = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '🔥'];
export const PUSH_SUFFIXES = ['', '', '', ' 🌻', ' ✌️', ' 🏃', ' ☕'];
export const POLLS: readonly [string, string[]][] = [
  ['Dinner on Friday?', ['Pizza', 'Sushi', 'Tacos']],
  ['Which weekend works?', ['12–13', '19–20', '26–27', 'None']],
  ['Meet at', ['7 pm', '8 pm']],
  ['Next book', ['Dune', 'Circe', 'Piranesi']],
];
