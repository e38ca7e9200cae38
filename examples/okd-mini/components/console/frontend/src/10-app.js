// Stand-in for the console's application entry point.
document.title = messages.title;
