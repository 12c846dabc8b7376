// The app's front-end code would live here.
