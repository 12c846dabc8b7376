// app code
