// Copy buttons on the admin console: hidden without JavaScript, where the URLs stay selectable text.
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = "Copied";
  });
}
