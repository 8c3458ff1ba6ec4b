//! Fitting a wall view to its box by measuring it: the view is rendered at
//! its fullest form, and after each render (in the next frame, once the DOM
//! is updated) a view that overflows takes the next coarser form, until it
//! fits or has none left. What fits depends on the language, the fonts and
//! how much the rest of the wall takes, none of which the code can know
//! beforehand. Used by the freshness strip and the alert area.

use leptos::prelude::*;

/// A view's current form and whether it has settled (`data-fits`, for
/// whoever needs the view as shown: a screenshot, a test).
#[derive(Debug, Clone, Copy)]
pub struct Fit<T: Send + Sync + 'static> {
    pub level: RwSignal<T>,
    pub fits: RwSignal<bool>,
    start: T,
}

impl<T: Copy + Send + Sync + 'static> Fit<T> {
    /// Starts at `start`, again whenever what `restart_on` reads changes,
    /// and is measured again whenever what `measure_on` reads changes.
    /// `overflows` measures the rendered view (`None`: not in the page);
    /// `coarser` is the next form, `None` at the coarsest.
    pub fn new(
        start: T,
        coarser: impl Fn(T) -> Option<T> + Copy + Send + Sync + 'static,
        overflows: impl Fn() -> Option<bool> + Copy + 'static,
        restart_on: impl Fn() + 'static,
        measure_on: impl Fn() + 'static,
    ) -> Self {
        let fit = Self {
            level: RwSignal::new(start),
            fits: RwSignal::new(false),
            start,
        };
        Effect::new(move |_| {
            restart_on();
            fit.restart();
        });
        Effect::new(move |_| {
            measure_on();
            fit.level.track();
            request_animation_frame(move || {
                let Some(over) = overflows() else {
                    return;
                };
                match coarser(fit.level.get_untracked()) {
                    Some(next) if over => fit.level.set(next),
                    _ => fit.fits.set(!over),
                }
            });
        });
        fit
    }

    /// Back to the fullest form, to be measured again.
    pub fn restart(&self) {
        self.fits.set(false);
        self.level.set(self.start);
    }
}
