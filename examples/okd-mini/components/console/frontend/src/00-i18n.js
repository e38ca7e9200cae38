// Stand-in for the console's translation module.
const messages = { title: 'OKD mini console' };
